#!/usr/bin/env bash
# Data-plane benchmark of the node daemon, in network namespaces.
#
#   hack/bench-dataplane.sh            full run (about 5 minutes), as root
#   hack/bench-dataplane.sh --quick    smoke run (under a minute)
#   hack/bench-dataplane.sh --help     every option
#
# Topology: one bridge (a "switch" namespace) with a client, a router and one
# node namespace per contender; addresses from 192.0.2.0/24 only, traffic only
# between these namespaces. The router holds the ingress VIP 192.0.2.200 and
# serves the challenge token with nginx (a fast static upstream that answers
# only for the API host name, so a proxy that loses Host fails). The client
# sends HTTP to API_VIP:80 of each node, where one contender runs:
#
#   ours   node 192.0.2.100: our daemon (nftables redirect :80 -> :8888,
#          filtering reverse proxy -> 192.0.2.200:80)
#   nginx  node 192.0.2.101: nginx from Debian behind the same nftables redirect
#          shape, configured as the same filter (GET/HEAD of
#          ^/.well-known/acme-challenge/[A-Za-z0-9_-]{16,128}$, 405/400/404
#          for the rest, proxy_pass with Host preserved, the same timeouts,
#          header allowlist and one upstream connection per request)
#   dnat   node 192.0.2.102: kernel DNAT + masquerade straight to the router,
#          no userspace hop: the limit of this rig
#   NAME   node 192.0.2.110+: --candidate daemons (a patched build, say), run
#          and measured exactly like ours
#
# Fairness: every proxy gets the same CPUs (--proxy-cpus, default all) with
# GOMAXPROCS = nginx worker_processes = the number of those CPUs; the load
# generator and the upstream share the machine with them (--rig-cpus, default
# all), so a proxy that costs more CPU per request leaves less to the rest and
# serves fewer requests; the CPU time each proxy spends per request is
# reported beside its req/s. Contenders run alternately (the starting one
# rotates every round), every round measures each of them back to back, and
# the summary reports medians, and medians of per-round ratios. Every request
# opens a new connection ("Connection: close"), as an ACME validator does.
#
# Then the system calls each filter makes per request (strace -c at c = 16),
# and the footprint of each daemon: RSS idle, and RSS (and its anonymous
# part) and challenge latency while a client holds --flood-conns slow
# connections to API_VIP:80 (reopening those the daemon closes). Everything (namespaces, processes, temp files) is
# removed on exit, also on failure or Ctrl-C; results stay in --out.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat <<'EOF'
Usage: hack/bench-dataplane.sh [options]   (as root)

  --quick               smoke run: 1 round of 1 s at concurrency 16, a 2,000-connection flood for 8 s
  --rounds N            rounds of alternating contenders (default 5)
  --duration SECONDS    measured time of each run (default 2), after a 0.5 s warm-up
  --concurrency "LIST"  closed-loop client connections (default "1 16 128")
  --proxy-cpus LIST     CPUs every proxy is pinned to (taskset syntax; default all); GOMAXPROCS and
                        nginx worker_processes are set to their number
  --rig-cpus LIST       CPUs of the load generator and the upstream (default all)
  --flood-conns N       slow connections of the footprint test (default 10000)
  --flood-hold SECONDS  how long they are held (default 30)
  --flood-trickle DUR   one more header byte per slow connection this often (default 2s; 0 = never)
  --daemon-arg ARG      one more argument for every daemon (e.g. --max-connections=1024); repeatable
  --candidate NAME=SPEC one more daemon contender, measured like ours; SPEC is a comma-separated list
                        of a binary, or patch files (applied to a copy of the source), and any
                        daemon arguments (--max-connections=1024) and environment variables
                        (GOGC=400); repeatable
  --no-throughput       skip the req/s comparison
  --no-flood            skip the flood
  --no-syscalls         skip counting each filter's system calls per request (strace -c, c = 16)
  --source REF          the commit everything is built from (default HEAD), or "worktree" for this
                        checkout as it is; hack/bench always comes from the work tree
  --daemon-binary PATH  use this binary for ours instead of building it
  --out DIR             where results go (default _output/bench/dataplane-<time>)
  --keep                keep the work dir (configs, logs) after the run
EOF
}

ALL_CPUS="0-$(($(nproc) - 1))"
ROUNDS=5
DURATION=2
WARMUP=0.5
CONCURRENCY="1 16 128"
PROXY_CPUS="${ALL_CPUS}"
RIG_CPUS="${ALL_CPUS}"
FLOOD_CONNS=10000
FLOOD_HOLD=30
FLOOD_TRICKLE=2s
EXTRA_DAEMON_ARGS=()
CANDIDATES=()
THROUGHPUT=1
FLOOD=1
SYSCALLS=1
DAEMON_BINARY=""
OUT=""
KEEP=0
SOURCE=HEAD
while (($#)); do
  if [[ "$1" == --*=* ]]; then
    # --option=value is --option value.
    set -- "${1%%=*}" "${1#*=}" "${@:2}"
  fi
  case "$1" in
    --quick) ROUNDS=1 DURATION=1 WARMUP=0.2 CONCURRENCY="16" FLOOD_CONNS=2000 FLOOD_HOLD=8 ;;
    --rounds) ROUNDS="$2"; shift ;;
    --duration) DURATION="$2"; shift ;;
    --concurrency) CONCURRENCY="$2"; shift ;;
    --proxy-cpus) PROXY_CPUS="$2"; shift ;;
    --rig-cpus) RIG_CPUS="$2"; shift ;;
    --flood-conns) FLOOD_CONNS="$2"; shift ;;
    --flood-hold) FLOOD_HOLD="$2"; shift ;;
    --flood-trickle) FLOOD_TRICKLE="$2"; shift ;;
    --daemon-arg) EXTRA_DAEMON_ARGS+=("$2"); shift ;;
    --candidate) CANDIDATES+=("$2"); shift ;;
    --no-throughput) THROUGHPUT=0 ;;
    --no-flood) FLOOD=0 ;;
    --no-syscalls) SYSCALLS=0 ;;
    --daemon-binary) DAEMON_BINARY="$2"; shift ;;
    --source) SOURCE="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

if ((EUID != 0)); then
  echo "bench-dataplane: needs root (network namespaces, nftables)" >&2
  exit 1
fi
export PATH="${PATH}:/usr/sbin:/sbin"

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# --- Names and addresses ---------------------------------------------------------
# Documentation addresses only (RFC 5737).
CLIENT_ADDR=192.0.2.31
ROUTER_ADDR=192.0.2.21
INGRESS_VIP=192.0.2.200
declare -A NODE_ADDR=([ours]=192.0.2.11 [nginx]=192.0.2.12 [dnat]=192.0.2.13)
declare -A API_VIP=([ours]=192.0.2.100 [nginx]=192.0.2.101 [dnat]=192.0.2.102)
LISTEN_PORT=8888
HEALTH_ADDRESS=127.0.0.1:29448
API_HOST=api.cluster.example.test
# A token with the shape of cert-manager's: 43 base64url characters.
TOKEN=LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
KEY_AUTH="${TOKEN}.account-key-thumbprint"
CHALLENGE_PATH="/.well-known/acme-challenge/${TOKEN}"

# Daemons are ours and the candidates; contenders are every node.
DAEMONS=(ours)
declare -A CANDIDATE_SPEC=()
i=0
for candidate in "${CANDIDATES[@]}"; do
  name="${candidate%%=*}" spec="${candidate#*=}"
  if [[ ! "${name}" =~ ^[a-z][a-z0-9]{0,7}$ || "${name}" =~ ^(ours|nginx|dnat|sw|client|router)$ || "${name}" == "${candidate}" ]]; then
    echo "bench-dataplane: --candidate wants NAME=SPEC with a new name of at most 8 lower-case letters and digits: ${candidate}" >&2
    exit 2
  fi
  DAEMONS+=("${name}")
  CANDIDATE_SPEC[${name}]="${spec}"
  NODE_ADDR[${name}]="192.0.2.$((15 + i))"
  API_VIP[${name}]="192.0.2.$((110 + i))"
  i=$((i + 1))
done
CONTENDERS=("${DAEMONS[@]}" nginx dnat)
FILTERS=("${DAEMONS[@]}" nginx)

# Namespaces are named h01b-<this pid>-<role>, so that leftovers of a run
# that was killed outright can be told from those of a run in progress.
NS_PREFIX="h01b-$$"
NS_SWITCH="${NS_PREFIX}-sw"
NS_CLIENT="${NS_PREFIX}-client"
NS_ROUTER="${NS_PREFIX}-router"
declare -A NS_NODE=()
for who in "${CONTENDERS[@]}"; do NS_NODE[${who}]="${NS_PREFIX}-${who}"; done

count_cpus() { # taskset list -> number of CPUs
  local n=0 part parts
  IFS=, read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    if [[ "${part}" == *-* ]]; then n=$((n + ${part#*-} - ${part%-*} + 1)); else n=$((n + 1)); fi
  done
  echo "${n}"
}
PROXY_NCPU=$(count_cpus "${PROXY_CPUS}")

# --- Packages -----------------------------------------------------------------------
ensure_packages() {
  local -A package_of=([ip]=iproute2 [nft]=nftables [nginx]=nginx [taskset]=util-linux [patch]=patch [strace]=strace)
  local missing=() command
  for command in "${!package_of[@]}"; do
    command -v "${command}" >/dev/null 2>&1 || missing+=("${package_of[${command}]}")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  # Installing nginx must not start it on the host: a policy-rc.d that
  # refuses service starts stands in during the install, unless one exists.
  local policy=/usr/sbin/policy-rc.d added_policy=0 rc=0
  if [[ ! -e "${policy}" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"${policy}"
    chmod +x "${policy}"
    added_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  ((added_policy)) && rm -f "${policy}"
  return "${rc}"
}
ensure_packages
command -v go >/dev/null || { echo "bench-dataplane: needs Go to build the daemon and the load generator" >&2; exit 1; }

# --- Cleanup ----------------------------------------------------------------------------
WORK="$(mktemp -d /tmp/h01b-bench.XXXXXX)"
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  local pid ns
  for pid in "${PIDS[@]}"; do kill -TERM "${pid}" 2>/dev/null; done
  # The daemon drains for up to 10 s on SIGTERM; nothing here needs that.
  for _ in $(seq 30); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "${pid}" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "${pid}" 2>/dev/null; done
  # Anything else still in our namespaces (there should be nothing).
  for ns in $(ip netns list | awk '{print $1}' | grep "^${NS_PREFIX}-"); do
    for pid in $(ip netns pids "${ns}" 2>/dev/null); do kill -KILL "${pid}" 2>/dev/null; done
    ip netns del "${ns}"
  done
  if ((KEEP)); then log "work dir kept: ${WORK}"; else rm -rf "${WORK}"; fi
  exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Namespaces of an earlier run that died without cleaning up (SIGKILL).
for ns in $(ip netns list | awk '{print $1}' | grep -E '^h01b-[0-9]+-' || true); do
  pid="${ns#h01b-}" pid="${pid%%-*}"
  if ! kill -0 "${pid}" 2>/dev/null; then
    for p in $(ip netns pids "${ns}" 2>/dev/null); do kill -KILL "${p}" 2>/dev/null || true; done
    ip netns del "${ns}" && log "removed stale namespace ${ns}"
  fi
done

# --- Build --------------------------------------------------------------------------------
# Everything is built from a snapshot of --source (default HEAD, vendor/
# included: other people's half-made edits in this checkout do not end up in
# the figures), with hack/bench/ taken from the work tree.
mkdir -p "${WORK}/bin"
export GOFLAGS=-mod=vendor GOTOOLCHAIN=local
if [[ "${SOURCE}" != worktree ]]; then
  mkdir -p "${WORK}/source"
  git -C "${ROOT}" archive "${SOURCE}" -- vendor | tar -xf - -C "${WORK}/source"
fi
snapshot() { # snapshot DIR: the source tree to build from
  mkdir -p "$1"
  if [[ "${SOURCE}" == worktree ]]; then
    (cd "${ROOT}" && tar --exclude=./vendor --exclude=./_output --exclude=./.git --exclude=./cluster-http01-challenge-proxy-operator -cf - .) | tar -xf - -C "$1"
    ln -s "${ROOT}/vendor" "$1/vendor"
  else
    git -C "${ROOT}" archive "${SOURCE}" -- . ':!vendor' | tar -xf - -C "$1"
    rm -rf "$1/hack/bench"
    cp -r "${ROOT}/hack/bench" "$1/hack/bench"
    ln -s "${WORK}/source/vendor" "$1/vendor"
  fi
}
log "building the load generator and the daemons (from ${SOURCE})"
snapshot "${WORK}/tree-ours"
(cd "${WORK}/tree-ours" && go build -o "${WORK}/bin/loadgen" ./hack/bench/loadgen)
LOADGEN="${WORK}/bin/loadgen"
declare -A BINARY=()
# The daemon's own binary (what the DaemonSet runs), or, in a tree from
# before it existed, the operator binary's daemon subcommand.
daemon_main() { # daemon_main TREE
  if [[ -d "$1/cmd/http01-challenge-proxy-daemon" ]]; then echo ./cmd/http01-challenge-proxy-daemon; else echo ./cmd/cluster-http01-challenge-proxy-operator; fi
}
if [[ -z "${DAEMON_BINARY}" ]]; then
  (cd "${WORK}/tree-ours" && go build -trimpath -o "${WORK}/bin/ours" "$(daemon_main "${WORK}/tree-ours")")
  DAEMON_BINARY="${WORK}/bin/ours"
fi
BINARY[ours]="${DAEMON_BINARY}"
for name in "${DAEMONS[@]:1}"; do
  spec="${CANDIDATE_SPEC[${name}]}"
  if [[ -x "${spec%%,*}" && ! -d "${spec%%,*}" ]]; then
    BINARY[${name}]="${spec%%,*}" # a binary, maybe with daemon arguments after it
    continue
  fi
  tree="${WORK}/tree-${name}"
  snapshot "${tree}"
  main=$(daemon_main "${tree}")
  IFS=, read -ra items <<<"${spec}"
  for item in "${items[@]}"; do
    if [[ "${item}" == --* || "${item}" =~ ^[A-Z_]+= ]]; then
      continue # a daemon argument or environment variable, below
    elif [[ -f "${item}" ]]; then
      patch -d "${tree}" -p1 -s --no-backup-if-mismatch <"${item}" || {
        echo "bench-dataplane: ${item} does not apply to ${SOURCE}" >&2
        exit 1
      }
    else
      echo "bench-dataplane: candidate ${name}: ${item} is not a patch file" >&2
      exit 2
    fi
  done
  (cd "${tree}" && go build -trimpath -o "${WORK}/bin/${name}" "${main}")
  BINARY[${name}]="${WORK}/bin/${name}"
done

[[ -n "${OUT}" ]] || OUT="${ROOT}/_output/bench/dataplane-$(date +%Y%m%d-%H%M%S)"
mkdir -p "${OUT}"
RESULTS="${OUT}/results.txt"
: >"${RESULTS}"

# Enough file descriptors for the flood, for the client and the servers
# (CRI-O gives containers 1048576); as many as this machine allows, up to 65536.
hard_nofile=$(ulimit -Hn)
[[ "${hard_nofile}" == unlimited ]] && hard_nofile=65536
ulimit -n "$((hard_nofile < 65536 ? hard_nofile : 65536))"
if (($(ulimit -n) < FLOOD_CONNS + 1024)); then
  log "warning: ulimit -n is $(ulimit -n), too few for ${FLOOD_CONNS} flood connections"
fi

# --- Topology ---------------------------------------------------------------------------------
in_ns() { local ns="$1"; shift; ip netns exec "${ns}" "$@"; }
ports=0
attach() { # attach NS ADDR... : a veth from NS to the switch's bridge
  local ns="$1" addr; shift
  ports=$((ports + 1))
  ip link add eth0 netns "${ns}" type veth peer name "port${ports}" netns "${NS_SWITCH}"
  ip -n "${NS_SWITCH}" link set "port${ports}" master br0 up
  for addr in "$@"; do ip -n "${ns}" address add "${addr}/24" dev eth0; done
  ip -n "${ns}" link set eth0 up
}
new_ns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
}

log "creating namespaces ${NS_PREFIX}-*"
new_ns "${NS_SWITCH}"
ip -n "${NS_SWITCH}" link add br0 type bridge
ip -n "${NS_SWITCH}" link set br0 up
new_ns "${NS_CLIENT}"
attach "${NS_CLIENT}" "${CLIENT_ADDR}"
new_ns "${NS_ROUTER}"
attach "${NS_ROUTER}" "${ROUTER_ADDR}" "${INGRESS_VIP}"
for who in "${CONTENDERS[@]}"; do
  new_ns "${NS_NODE[${who}]}"
  attach "${NS_NODE[${who}]}" "${NODE_ADDR[${who}]}" "${API_VIP[${who}]}"
done

# Rig settings, the same for every contender: a connection per request at
# thousands a second would otherwise run out of ephemeral ports (TIME_WAIT).
for ns in "${NS_CLIENT}" "${NS_ROUTER}" "${NS_NODE[@]}"; do
  in_ns "${ns}" sysctl -qw net.ipv4.ip_local_port_range="15000 64999" net.ipv4.tcp_tw_reuse=1
done

# --- Upstream: nginx on the router ---------------------------------------------------------------
nginx_main() { # nginx_main NAME WORKERS: main-context lines
  cat <<EOF
daemon off;
master_process on;
worker_processes $2;
pid ${WORK}/$1.pid;
error_log ${WORK}/$1.error.log warn;
events { worker_connections 16384; }
EOF
}
nginx_http() { # nginx_http NAME: http-context lines every instance shares
  cat <<EOF
  access_log off;
  server_tokens off;
  default_type text/plain;
  client_body_temp_path ${WORK}/$1-tmp/body;
  proxy_temp_path ${WORK}/$1-tmp/proxy;
  fastcgi_temp_path ${WORK}/$1-tmp/fastcgi;
  uwsgi_temp_path ${WORK}/$1-tmp/uwsgi;
  scgi_temp_path ${WORK}/$1-tmp/scgi;
EOF
}
mkdir -p "${WORK}/router-tmp" "${WORK}/nginx-tmp"
{
  nginx_main router 1
  echo "http {"
  nginx_http router
  cat <<EOF
  keepalive_requests 1000000;
  # Only the API host name gets the token: a proxy that lost the Host header
  # gets 421 and the benchmark counts failures.
  server {
    listen ${INGRESS_VIP}:80 default_server;
    return 421 "wrong host\n";
  }
  server {
    listen ${INGRESS_VIP}:80;
    server_name ${API_HOST};
    location = ${CHALLENGE_PATH} { return 200 "${KEY_AUTH}"; }
    location / { return 404 "no such challenge\n"; }
  }
}
EOF
} >"${WORK}/router.conf"
ip netns exec "${NS_ROUTER}" taskset -c "${RIG_CPUS}" nginx -q -c "${WORK}/router.conf" -p "${WORK}" >"${WORK}/router.log" 2>&1 &
ROUTER_PID=$!
PIDS+=("${ROUTER_PID}")

# --- The daemons: ours and the candidates ----------------------------------------------------------
declare -A PID_OF=()
for name in "${DAEMONS[@]}"; do
  # The daemon's own binary takes its flags directly; the operator binary
  # of a tree from before it takes them after "daemon".
  args=()
  "${BINARY[${name}]}" --help 2>&1 | grep -q -- --api-vips || args=(daemon)
  args+=("--api-vips=${API_VIP[${name}]}" "--ingress-vips=${INGRESS_VIP}" "--listen-port=${LISTEN_PORT}" "${EXTRA_DAEMON_ARGS[@]}")
  environment=(GOMAXPROCS="${PROXY_NCPU}")
  if [[ "${name}" != ours ]]; then
    IFS=, read -ra items <<<"${CANDIDATE_SPEC[${name}]}"
    for item in "${items[@]}"; do
      if [[ "${item}" == --* ]]; then args+=("${item}"); elif [[ "${item}" =~ ^[A-Z_]+= ]]; then environment+=("${item}"); fi
    done
  fi
  ip netns exec "${NS_NODE[${name}]}" taskset -c "${PROXY_CPUS}" env "${environment[@]}" "${BINARY[${name}]}" "${args[@]}" >"${WORK}/${name}.log" 2>&1 &
  PID_OF[${name}]=$!
  PIDS+=("$!")
done

# --- nginx as the same filter, behind the same redirect shape ----------------------------------------
{
  nginx_main nginx "${PROXY_NCPU}"
  echo "http {"
  nginx_http nginx
  cat <<EOF
  # Our server's limits: no keep-alive, 5 s for the headers, 8 KiB of them.
  keepalive_timeout 0;
  client_header_timeout 5s;
  client_body_timeout 10s;
  send_timeout 15s;
  large_client_header_buffers 4 8k;
  # Our upstream transport: 2 s to connect, 5 s for the response headers,
  # a new connection per request ("Connection: close", HTTP/1.0 here).
  proxy_connect_timeout 2s;
  proxy_read_timeout 5s;
  # The same decisions as proxy.Classify, on the raw request target.
  map \$request_method \$h01_method_ok { GET 1; HEAD 1; default 0; }
  map "\$http_content_length:\$http_transfer_encoding" \$h01_has_body { ":" 0; "0:" 0; default 1; }
  map \$request_uri \$h01_challenge { "~^/\\.well-known/acme-challenge/[A-Za-z0-9_-]{16,128}\$" 1; default 0; }
  server {
    # deferred is TCP_DEFER_ACCEPT, as our listener sets.
    listen ${LISTEN_PORT} default_server deferred;
    location / {
      if (\$h01_method_ok = 0) {
        add_header Allow "GET, HEAD" always;
        return 405 "only GET and HEAD are served here\n";
      }
      if (\$h01_has_body) { return 400 "an ACME challenge request has no body\n"; }
      if (\$h01_challenge = 0) { return 404 "only /.well-known/acme-challenge/<token> is served here\n"; }
      proxy_pass http://${INGRESS_VIP}:80;
      # Only Host, Accept and User-Agent of the client's headers, and the
      # X-Forwarded-* set here (proxy.allowedHeaders and SetXForwarded).
      proxy_pass_request_headers off;
      proxy_set_header Host \$http_host;
      proxy_set_header Accept \$http_accept;
      proxy_set_header User-Agent \$http_user_agent;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Host \$http_host;
      proxy_set_header X-Forwarded-Proto http;
    }
  }
}
EOF
} >"${WORK}/nginx.conf"
ip netns exec "${NS_NODE[nginx]}" taskset -c "${PROXY_CPUS}" nginx -q -c "${WORK}/nginx.conf" -p "${WORK}" >"${WORK}/nginx.log" 2>&1 &
PID_OF[nginx]=$!
PIDS+=("$!")
# The same rule shape as the daemon's table: inet family, nat at priority
# -100, prerouting for traffic from outside and output (loopback) for the
# node's own.
in_ns "${NS_NODE[nginx]}" nft -f - <<EOF
table inet h01b_redirect {
  chain prerouting { type nat hook prerouting priority -100; policy accept; ip daddr ${API_VIP[nginx]} tcp dport 80 redirect to :${LISTEN_PORT}; }
  chain output { type nat hook output priority -100; policy accept; oifname "lo" ip daddr ${API_VIP[nginx]} tcp dport 80 redirect to :${LISTEN_PORT}; }
}
EOF

# --- Kernel DNAT, no userspace hop ----------------------------------------------------------------
in_ns "${NS_NODE[dnat]}" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
in_ns "${NS_NODE[dnat]}" nft -f - <<EOF
table ip h01b_dnat {
  chain prerouting { type nat hook prerouting priority -100; policy accept; ip daddr ${API_VIP[dnat]} tcp dport 80 dnat to ${INGRESS_VIP}:80; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; ct status dnat ip daddr ${INGRESS_VIP} tcp dport 80 masquerade; }
}
EOF

# --- Ready and correct? ------------------------------------------------------------------------------
for name in "${DAEMONS[@]}"; do
  in_ns "${NS_NODE[${name}]}" "${LOADGEN}" get -addr "${HEALTH_ADDRESS}" -path /readyz -wait 20s -q || {
    log "${name}: the daemon is not ready"
    cat "${WORK}/${name}.log" >&2
    exit 1
  }
done
# Conntrack runs in the node namespaces now that they have nat rules: a
# shorter TIME_WAIT keeps a few hundred thousand closed connections from
# filling its table (the same for every node).
for who in "${CONTENDERS[@]}"; do
  in_ns "${NS_NODE[${who}]}" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=5 2>/dev/null || true
done
client_get() { in_ns "${NS_CLIENT}" "${LOADGEN}" get "$@"; }
for who in "${CONTENDERS[@]}"; do
  vip="${API_VIP[${who}]}"
  # The first request may race the last rule or listener; wait for it.
  client_get -addr "${vip}:80" -path "${CHALLENGE_PATH}" -body "${KEY_AUTH}" -wait 10s -q || {
    log "${who}: the challenge is not answered"
    tail -n 20 "${WORK}"/*.log >&2
    exit 1
  }
  if [[ "${who}" != dnat ]]; then
    client_get -addr "${vip}:80" -path / -expect 404 -q
    client_get -addr "${vip}:80" -path "${CHALLENGE_PATH}" -method POST -expect 405 -q
    client_get -addr "${vip}:80" -path "/.well-known/acme-challenge/short" -expect 404 -q
  fi
done
log "every contender answers the challenge; the filters reject the rest"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
anon_kib() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
contender_pids() {
  case "$1" in
    dnat) ;; # the kernel's work is nobody's process
    nginx) echo "${PID_OF[nginx]}" $(pgrep -P "${PID_OF[nginx]}") ;;
    *) echo "${PID_OF[$1]}" ;;
  esac
}
sum_kib() { # sum_kib FUNCTION PID...
  local f="$1" total=0 pid; shift
  for pid in "$@"; do total=$((total + $("${f}" "${pid}"))); done
  echo "${total}"
}
sleep 2
declare -A RSS_FRESH=() ANON_FRESH=()
for who in "${FILTERS[@]}"; do
  RSS_FRESH[${who}]=$(sum_kib rss_kib $(contender_pids "${who}"))
  ANON_FRESH[${who}]=$(sum_kib anon_kib $(contender_pids "${who}"))
done

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
{
  echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) CPUs; load average before: ${LOAD_BEFORE}"
  echo "# proxies on CPUs ${PROXY_CPUS} (GOMAXPROCS = nginx worker_processes = ${PROXY_NCPU}); load generator and upstream on CPUs ${RIG_CPUS}"
  echo "# daemons built from ${SOURCE} ($(git -C "${ROOT}" rev-parse --short "${SOURCE}" 2>/dev/null || git -C "${ROOT}" describe --always --dirty)); daemon args: ${EXTRA_DAEMON_ARGS[*]:-(defaults)}"
  for name in "${DAEMONS[@]:1}"; do echo "# candidate ${name}: ${CANDIDATE_SPEC[${name}]//${ROOT}\//}"; done
} >>"${RESULTS}"

# --- Throughput and latency ---------------------------------------------------------------------------
# cpu_ticks PID...: user + system CPU time of the processes (all threads).
cpu_ticks() {
  local total=0 pid fields
  for pid in "$@"; do
    # Fields after "pid (comm) ": utime and stime are the 12th and 13th.
    read -ra fields < <(sed 's/^.*) //' "/proc/${pid}/stat" 2>/dev/null) || continue
    total=$((total + fields[11] + fields[12]))
  done
  echo "${total}"
}
CLK_TCK=$(getconf CLK_TCK)
ROUTER_PIDS="${ROUTER_PID} $(pgrep -P "${ROUTER_PID}" | tr '\n' ' ')"
measure() { # measure ROUND PATH C CONTENDER
  local round="$1" path="$2" c="$3" who="$4" target expect line pids before router_before all
  if [[ "${path}" == challenge ]]; then target="${CHALLENGE_PATH}" expect=200; else target=/ expect=404; fi
  pids=$(contender_pids "${who}")
  before=$(cpu_ticks ${pids}) router_before=$(cpu_ticks ${ROUTER_PIDS})
  line=$(in_ns "${NS_CLIENT}" taskset -c "${RIG_CPUS}" "${LOADGEN}" load -addr "${API_VIP[${who}]}:80" \
    -path "${target}" -expect "${expect}" -c "${c}" -d "${DURATION}s" -warmup "${WARMUP}s" -timeout 10s 2>>"${WORK}/loadgen.err")
  # CPU time per request over every request of the run (warm-up included).
  all=$(sed -n 's/.* all=\([0-9]*\).*/\1/p' <<<"${line}")
  all=$((all > 0 ? all : 1))
  line+=" proxy_cpu_us=$((($(cpu_ticks ${pids}) - before) * 1000000 / CLK_TCK / all))"
  line+=" upstream_cpu_us=$((($(cpu_ticks ${ROUTER_PIDS}) - router_before) * 1000000 / CLK_TCK / all))"
  echo "round=${round} path=${path} c=${c} contender=${who} ${line}" | tee -a "${RESULTS}" >&2
}
rotate() { # rotate N ITEMS...: the items, starting at the N-th
  local n=$(($1 % ($# - 1))); shift
  local items=("$@")
  echo "${items[@]:n}" "${items[@]:0:n}"
}
if ((THROUGHPUT)); then
  log "throughput: ${ROUNDS} rounds x concurrency {${CONCURRENCY}}: challenge path {${CONTENDERS[*]}}, reject path {${FILTERS[*]}}; ${DURATION}s each"
  for round in $(seq "${ROUNDS}"); do
    for c in ${CONCURRENCY}; do
      for who in $(rotate "$((round - 1))" "${CONTENDERS[@]}"); do
        measure "${round}" challenge "${c}" "${who}"
      done
      for who in $(rotate "$((round - 1))" "${FILTERS[@]}"); do
        measure "${round}" reject "${c}" "${who}"
      done
    done
  done
fi
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "# load average after the throughput runs: ${LOAD_AFTER}" >>"${RESULTS}"

# --- System calls -------------------------------------------------------------------------------------------
# What a request costs in system calls, counted by strace -c on every thread
# of the filter's processes while the load generator runs at c = 16. strace
# slows the process down a lot, so only the counts per request mean anything
# (not their time); most of a proxy's CPU time per request goes to the
# kernel, so these counts say where its CPU goes.
syscalls() { # syscalls PATH CONTENDER
  local path="$1" who="$2" target expect attach=() pid trace tracer line all
  trace="${WORK}/strace-${who}-${path}.txt"
  if [[ "${path}" == challenge ]]; then target="${CHALLENGE_PATH}" expect=200; else target=/ expect=404; fi
  for pid in $(contender_pids "${who}"); do attach+=(-p "${pid}"); done
  strace -c -f -q -o "${trace}" "${attach[@]}" &
  tracer=$!
  sleep 1 # attaching to every thread
  line=$(in_ns "${NS_CLIENT}" "${LOADGEN}" load -addr "${API_VIP[${who}]}:80" -path "${target}" -expect "${expect}" \
    -c 16 -d 2s -warmup 0s -timeout 10s 2>>"${WORK}/loadgen.err")
  kill -INT "${tracer}"
  wait "${tracer}" || true
  all=$(sed -n 's/.* all=\([0-9]*\).*/\1/p' <<<"${line}")
  # strace -c: "% time, seconds, usecs/call, calls, [errors,] syscall".
  awk -v who="${who}" -v path="${path}" -v n="${all:-0}" '
    $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { calls[$NF] = $4; total += $4 }
    END {
      if (n == 0) { printf "syscalls contender=%s path=%s requests=0\n", who, path; exit }
      line = sprintf("syscalls contender=%s path=%s requests=%d per_request=%.1f", who, path, n, total / n)
      # Largest first (mawk has no sort): selection over what is left.
      while (1) {
        best = ""; for (name in calls) if (best == "" || calls[name] > calls[best]) best = name
        if (best == "" || calls[best] / n < 0.05) break
        line = line sprintf(" %s=%.2f", best, calls[best] / n); delete calls[best]
      }
      print line
    }' "${trace}" | tee -a "${RESULTS}" >&2
}
if ((SYSCALLS)); then
  log "system calls per request (strace -c, c = 16) of {${FILTERS[*]}}"
  for who in "${FILTERS[@]}"; do
    syscalls challenge "${who}"
    syscalls reject "${who}"
  done
fi

# --- Footprint ----------------------------------------------------------------------------------------------
sleep 3
for who in "${FILTERS[@]}"; do
  pids=$(contender_pids "${who}")
  echo "footprint contender=${who} processes=$(wc -w <<<"${pids}") rss_fresh_kib=${RSS_FRESH[${who}]} anon_fresh_kib=${ANON_FRESH[${who}]}" \
    "rss_after_load_kib=$(sum_kib rss_kib ${pids}) anon_after_load_kib=$(sum_kib anon_kib ${pids})" | tee -a "${RESULTS}" >&2
done

if ((FLOOD)); then
  for name in "${DAEMONS[@]}"; do
    log "flood: ${FLOOD_CONNS} slow connections to ${name} (${API_VIP[${name}]}:80) for ${FLOOD_HOLD}s, a challenge probe every second"
    in_ns "${NS_CLIENT}" "${LOADGEN}" flood -addr "${API_VIP[${name}]}:80" -path "${CHALLENGE_PATH}" \
      -conns "${FLOOD_CONNS}" -hold "${FLOOD_HOLD}s" -trickle "${FLOOD_TRICKLE}" -timeout 20s -pid "${PID_OF[${name}]}" \
      >"${OUT}/flood-${name}.txt" 2>&1 || true
    summary=$(grep '^flood_conns=' "${OUT}/flood-${name}.txt" || echo "failed=see-flood-${name}.txt")
    # How far the RSS comes back down once the flood is over.
    sleep 10
    echo "flood contender=${name} ${summary} rss_after_flood_kib=$(rss_kib "${PID_OF[${name}]}")" | tee -a "${RESULTS}" >&2
  done
fi

# --- Summary ----------------------------------------------------------------------------------------------------
{
  echo "Load average: ${LOAD_BEFORE} before, ${LOAD_AFTER} after the throughput runs ($(nproc) CPUs)."
  echo
  "${LOADGEN}" summarize "${RESULTS}"
  if grep -q '^syscalls ' "${RESULTS}"; then
    echo
    echo "#### System calls per request (strace -c on the filter's threads at c = 16; counts only, strace slows the process)"
    echo
    echo "| path | contender | requests | per request | the largest, per request |"
    echo "| --- | --- | ---: | ---: | --- |"
    awk '/^syscalls / {
      delete f; rest = ""
      for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] ~ /^(contender|path|requests|per_request)$/) f[kv[1]] = kv[2]; else rest = rest " " kv[1] " " kv[2] "," }
      sub(/,$/, "", rest)
      printf "| %s | %s | %s | %s |%s |\n", f["path"], f["contender"], f["requests"], f["per_request"], rest
    }' "${RESULTS}"
  fi
} >"${OUT}/summary.md"
cat "${OUT}/summary.md"
log "results in ${OUT}"
