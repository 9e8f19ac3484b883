#!/usr/bin/env bash
# Measures the operator's cost on the simulated cluster of hack/local-cluster
# with 10, 100 and 1000 kwok workers (issue 6, operator part), and prints a
# table. For each worker count it brings up its own local cluster (instance
# "benchop", separate from the demo's and e2e's), and:
#
#   1. tells the kube-apiserver's API Priority and Fairness to classify the
#      operator's ServiceAccount into four FlowSchemas of its own (Leases,
#      i.e. leader election; watch; get/list; every other verb = writes), so that
#      apiserver_flowcontrol_dispatched_requests_total counts exactly the
#      operator's requests, by kind, under its own identity;
#   2. patches the config singleton to spec.mode: DefaultDeployment and times
#      until the ClusterOperator is Available=True with Disabled=False AND the
#      DaemonSet has all control-plane pods ready (polled every 100 ms);
#   3. waits --settle, then for an idle window of --idle counts the operator's
#      API requests and CPU seconds (utime+stime of /proc/<pid>/stat), and
#      reads its VmRSS (/proc/<pid>/status) at the end of the window;
#   4. from the kube-apiserver's audit log (hack/local-cluster logs every
#      request of the operator and every write to its DaemonSet and pods),
#      prints who wrote what, and when, between the patch and convergence,
#      and the operator's requests in the idle window by verb and object.
#
# The cluster is torn down with hack/local-cluster/down.sh after each run
# and on any exit (failure, Ctrl-C). Needs root.
#
# Usage: hack/bench-operator.sh [--idle=600s] [--settle=30s] [--workers="10 100 1000"]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source=hack/local-cluster/lib.sh
source "${REPO_ROOT}/hack/local-cluster/lib.sh"

INSTANCE=benchop
idle=600s
settle=30s
workers_list="10 100 1000"
enable_timeout=300
while (($# > 0)); do
  case "$1" in
    --idle=*) idle="${1#*=}" ;;
    --idle) idle="$2"; shift ;;
    --settle=*) settle="${1#*=}" ;;
    --settle) settle="$2"; shift ;;
    --workers=*) workers_list="${1#*=}" ;;
    --workers) workers_list="$2"; shift ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) localcluster::die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done
secs() { # 600s, 10m, 600 -> seconds
  case "$1" in
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}
idle_s="$(secs "${idle}")"
settle_s="$(secs "${settle}")"

localcluster::require_root
DIR="$(localcluster::dir "${INSTANCE}")"
export KUBECONFIG="${DIR}/kubeconfig"
CONFIG=http01challengeproxies.config.openshift.io/cluster
CO=clusteroperator/http01-challenge-proxy
OPERAND_NS=openshift-http01-challenge-proxy
OPERATOR_NS=openshift-http01-challenge-proxy-operator
OPERATOR_SA=http01-challenge-proxy-operator
DS=daemonset/http01-challenge-proxy
AUDIT="${DIR}/logs/kube-apiserver-audit.log"
RESULTS="$(mktemp)"
DETAILS="$(mktemp)"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -x "${LOCAL_CLUSTER_BIN}" ]] && [[ -d "${DIR}" ]]; then
    localcluster::step "Tearing down local cluster ${INSTANCE}"
    "${REPO_ROOT}/hack/local-cluster/down.sh" --instance="${INSTANCE}" || rc=1
  fi
  rm -f "${RESULTS}" "${DETAILS}"
  exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if localcluster::running "${INSTANCE}"; then
  localcluster::die "local cluster ${INSTANCE} is already running; remove it with hack/local-cluster/down.sh --instance=${INSTANCE}"
fi
localcluster::prepare

# The operator's requests, by APF FlowSchema: watch, read (get/list), write.
flowschemas() {
  local name verbs precedence
  local groups resources
  for name in lease watch read write; do
    groups='["*"]' resources='["*"]'
    case "${name}" in
      # Leader election: every verb on coordination.k8s.io Leases.
      lease) verbs='["*"]' precedence=2 groups='["coordination.k8s.io"]' resources='["leases"]' ;;
      watch) verbs='["watch"]' precedence=3 ;;
      read) verbs='["get","list"]' precedence=4 ;;
      write) verbs='["create","update","patch","delete","deletecollection"]' precedence=5 ;;
    esac
    cat <<EOF
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: bench-operator-${name}
spec:
  matchingPrecedence: ${precedence}
  priorityLevelConfiguration:
    name: workload-low
  distinguisherMethod:
    type: ByUser
  rules:
  - subjects:
    - kind: ServiceAccount
      serviceAccount:
        name: ${OPERATOR_SA}
        namespace: ${OPERATOR_NS}
    resourceRules:
    - verbs: ${verbs}
      apiGroups: ${groups}
      resources: ${resources}
      clusterScope: true
      namespaces: ["*"]
EOF
    if [[ "${name}" == read ]]; then
      # Discovery and other non-resource URLs: reads.
      printf '    nonResourceRules:\n    - verbs: ["*"]\n      nonResourceURLs: ["*"]\n'
    fi
  done
}

# counts prints "watch read write": the operator's requests so far.
counts() {
  "${KUBECTL}" get --raw /metrics | awk '
    /^apiserver_flowcontrol_dispatched_requests_total\{/ && /flow_schema="bench-operator-/ {
      split($0, a, "flow_schema=\"bench-operator-"); split(a[2], b, "\"")
      c[b[1]] += $NF
    }
    END { printf "%d %d %d %d\n", c["watch"], c["read"], c["write"], c["lease"] }'
}

operator_pid() {
  local pid _
  read -r pid _ <"${DIR}/run/operator.pid"
  echo "${pid}"
}
# cpu_ticks PID : utime+stime in clock ticks.
cpu_ticks() {
  local stat rest fields
  stat="$(<"/proc/$1/stat")"
  rest="${stat##*) }"
  read -r -a fields <<<"${rest}"
  echo $((fields[11] + fields[12]))
}
rss_kib() {
  awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}
# nap SECONDS : a sleep that a signal to this script interrupts at once.
nap() {
  sleep "$1" &
  wait $!
}
now_ms() {
  date +%s%3N
}
audit_offset() {
  stat -c %s "${AUDIT}" 2>/dev/null || echo 0
}
# audit_events OFFSET : the completed requests logged since byte OFFSET of
# the audit log, one per line:
#   <seconds of the UTC day> <user> <verb> <resource[.group][/subresource]> <namespace/name> <code>
# (mawk has no JSON or time functions; the audit log's fields are flat
# enough for match(), and a run never spans midnight by more than a day.)
audit_events() {
  tail -c +"$(($1 + 1))" "${AUDIT}" 2>/dev/null | awk '
    function str(s, key,   m) {
      if (!match(s, "\"" key "\":\"[^\"]*\"")) return ""
      m = substr(s, RSTART, RLENGTH); sub("^\"" key "\":\"", "", m); sub("\"$", "", m); return m
    }
    /"stage":"ResponseComplete"/ {
      ref = ""; if (match($0, /"objectRef":\{[^}]*\}/)) ref = substr($0, RSTART, RLENGTH)
      res = str(ref, "resource"); grp = str(ref, "apiGroup"); if (grp != "") res = res "." grp
      sub_ = str(ref, "subresource"); if (sub_ != "") res = res "/" sub_
      ns = str(ref, "namespace"); name = str(ref, "name")
      code = "-"; if (match($0, /"code":[0-9]+/)) code = substr($0, RSTART + 7, RLENGTH - 7)
      ts = str($0, "stageTimestamp"); split(substr(ts, 12), t, ":")
      printf "%.3f %s %s %s %s/%s %s\n", t[1] * 3600 + t[2] * 60 + t[3], str($0, "username"), str($0, "verb"), res, ns, name, code
    }'
}
# seconds of the UTC day, as in audit_events
day_seconds() {
  date -u +%H:%M:%S.%N | awk -F: '{printf "%.3f\n", $1 * 3600 + $2 * 60 + $3}'
}
# short_user: the operator, kube components and simulators by short names.
short_user() {
  sed -e "s/system:serviceaccount:${OPERATOR_NS}:${OPERATOR_SA}/operator/" \
    -e 's/system:serviceaccount:kube-system:\([a-z-]*-controller\)/kcm:\1/' -e 's/system:kube-scheduler/kube-scheduler/'
}

# converged : CO Available=True, Disabled=False, and a DaemonSet pod updated
# and ready on each of the ${masters} control-plane nodes.
converged() {
  local co ds
  co="$("${KUBECTL}" get "${CO}" -o jsonpath='{.status.conditions[?(@.type=="Available")].status}/{.status.conditions[?(@.type=="Disabled")].status}' 2>/dev/null)" || return 1
  [[ "${co}" == True/False ]] || return 1
  ds="$("${KUBECTL}" -n "${OPERAND_NS}" get "${DS}" -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.status.desiredNumberScheduled} {.status.updatedNumberScheduled} {.status.numberReady}' 2>/dev/null)" || return 1
  local gen obs desired updated ready
  read -r gen obs desired updated ready <<<"${ds}"
  [[ "${desired}" == "${masters}" && "${gen}" == "${obs}" && "${desired}" == "${updated}" && "${desired}" == "${ready:-0}" ]]
}

clk_tck="$(getconf CLK_TCK)"
for workers in ${workers_list}; do
  localcluster::step "Bringing up ${INSTANCE} with ${workers} workers"
  "${LOCAL_CLUSTER_BIN}" up --instance="${INSTANCE}" --workers="${workers}"
  flowschemas | "${KUBECTL}" apply -f - >/dev/null
  # Enable on a settled cluster: every node Ready (kwok initialises
  # 1000 nodes in a while), then a few seconds for the controllers.
  "${KUBECTL}" wait nodes --all --for=condition=Ready --timeout=600s >/dev/null
  nap 10
  nodes="$("${KUBECTL}" get nodes --no-headers | wc -l)"
  masters="$("${KUBECTL}" get nodes -l node-role.kubernetes.io/master --no-headers | wc -l)"

  localcluster::step "Enabling: kubectl patch ${CONFIG} spec.mode=DefaultDeployment"
  read -r ew0 er0 ex0 _ <<<"$(counts)"
  audit0="$(audit_offset)"
  start_day="$(day_seconds)"
  start="$(now_ms)"
  "${KUBECTL}" patch "${CONFIG}" --type=merge -p '{"spec":{"mode":"DefaultDeployment"}}' >/dev/null
  while ! converged; do
    if (($(now_ms) - start > enable_timeout * 1000)); then
      localcluster::die "not converged ${enable_timeout}s after enabling (workers=${workers})"
    fi
    sleep 0.1
  done
  enable_ms=$(($(now_ms) - start))
  read -r ew1 er1 ex1 _ <<<"$(counts)"
  printf '    converged in %d ms; operator requests meanwhile: %d watches, %d gets/lists, %d writes\n' \
    "${enable_ms}" $((ew1 - ew0)) $((er1 - er0)) $((ex1 - ex0))
  {
    echo "workers=${workers}: writes to the config, the DaemonSet and its pods from the patch to convergence (audit log, ms after the patch):"
    audit_events "${audit0}" | short_user | awk -v t0="${start_day}" '
      $3 != "get" && $3 != "list" && $3 != "watch" && $4 ~ /^(http01challengeproxies|daemonsets|pods)/ {
        d = ($1 - t0) * 1000; if (d < -43200000) d += 86400000
        printf "  +%7d ms  %-23s %-6s %-50s %s %s\n", d, $2, $3, $4, $5, $6
      }'
  } >>"${DETAILS}"

  localcluster::step "Settling ${settle_s}s, then an idle window of ${idle_s}s"
  nap "${settle_s}"
  pid="$(operator_pid)"
  read -r w0 r0 x0 l0 <<<"$(counts)"
  audit_idle="$(audit_offset)"
  c0="$(cpu_ticks "${pid}")"
  nap "${idle_s}"
  c1="$(cpu_ticks "${pid}")"
  rss="$(rss_kib "${pid}")"
  read -r w1 r1 x1 l1 <<<"$(counts)"
  {
    echo "workers=${workers}: the operator's requests in the idle window by verb and object (audit log; count, verb, resource, namespace/name, HTTP code):"
    audit_events "${audit_idle}" | awk '$2 ~ /:'"${OPERATOR_SA}"'$/ {print $3, $4, $5, $6}' | sort | uniq -c | sort -rn | sed 's/^/  /'
  } >>"${DETAILS}"
  [[ "$(operator_pid)" == "${pid}" ]] || localcluster::die "the operator restarted during the window"
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%s %s %s %s %s %s %s %s %s %s %s\n' "${workers}" "${nodes}" "${enable_ms}" "${rss}" \
    "$(awk -v t=$((c1 - c0)) -v h="${clk_tck}" 'BEGIN{printf "%.2f", t/h}')" \
    $((w1 - w0)) $((r1 - r0)) $((x1 - x0)) $((l1 - l0)) "${load// //}" \
    "$((ew1 - ew0))/$((er1 - er0))/$((ex1 - ex0))" >>"${RESULTS}"

  localcluster::step "Tearing down ${INSTANCE}"
  "${REPO_ROOT}/hack/local-cluster/down.sh" --instance="${INSTANCE}"
done

echo
echo "Operator cost, idle window ${idle_s}s (after ${settle_s}s settling), $(nproc) cores."
echo "watches, gets/lists, writes (except on Leases), lease reqs (leader election: get+update of its Lease) and CPU s:"
echo "the operator's, over the idle window; RSS: at its end;"
echo "enable w/r/wr: the operator's watches/reads/writes from the patch to convergence (proves the counting)."
printf '| %7s | %5s | %14s | %10s | %12s | %7s | %11s | %6s | %10s | %14s | %13s |\n' \
  workers nodes "enable->ready" "RSS (MiB)" "CPU s (idle)" watches "gets/lists" writes "lease reqs" "load 1/5/15" "enable w/r/wr"
printf '|%s|\n' "---------|-------|----------------|------------|--------------|---------|-------------|--------|------------|----------------|---------------"
base_rss=""
worst_enable=0
total_writes=0
while read -r workers nodes enable_ms rss cpu w r x l load during; do
  printf '| %7s | %5s | %12.2f s | %10.1f | %12s | %7s | %11s | %6s | %10s | %14s | %13s |\n' \
    "${workers}" "${nodes}" "$(awk -v m="${enable_ms}" 'BEGIN{print m/1000}')" \
    "$(awk -v k="${rss}" 'BEGIN{print k/1024}')" "${cpu}" "${w}" "${r}" "${x}" "${l}" "${load}" "${during}"
  [[ -n "${base_rss}" ]] || base_rss="${rss}"
  last_rss="${rss}"
  ((enable_ms > worst_enable)) && worst_enable="${enable_ms}"
  total_writes=$((total_writes + x))
done <"${RESULTS}"
echo
cat "${DETAILS}"
echo
verdict() { if awk "BEGIN{exit !($1)}"; then echo met; else echo MISSED; fi; }
printf 'Target enable -> Available <= 10 s: %s (worst %.2f s = %.2fx the target)\n' \
  "$(verdict "${worst_enable} <= 10000")" "$(awk -v m="${worst_enable}" 'BEGIN{print m/1000}')" "$(awk -v m="${worst_enable}" 'BEGIN{print m/10000}')"
printf 'Target 0 writes in the idle window (leader election aside): %s (%d writes over all runs)\n' "$(verdict "${total_writes} == 0")" "${total_writes}"
if [[ -n "${base_rss}" ]]; then
  ratio="$(awk -v a="${last_rss}" -v b="${base_rss}" 'BEGIN{printf "%.2f", a/b}')"
  printf 'Target RSS(last) <= 1.2x RSS(first): %s (ratio %s)\n' "$(verdict "${ratio} <= 1.2")" "${ratio}"
fi
