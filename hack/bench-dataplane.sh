#!/usr/bin/env bash
# Data-plane benchmark of the node daemon, in network namespaces.
#
#   hack/bench-dataplane.sh            full run (a few minutes), as root
#   hack/bench-dataplane.sh --quick    smoke run (well under a minute)
#   hack/bench-dataplane.sh --help     every option
#
# Topology: one bridge (a "switch" namespace) with a client, a router and one
# node namespace per contender; addresses from 192.0.2.0/24 only, traffic only
# between these namespaces. The router holds the ingress VIP 192.0.2.200 and
# serves the challenge token with nginx (a fast static upstream). The client
# sends HTTP to API_VIP:80 of each node, where one contender runs:
#
#   ours   node 192.0.2.100: our daemon (nftables redirect :80 -> :8888,
#          filtering reverse proxy -> 192.0.2.200:80)
#   nginx  node 192.0.2.101: nginx from Debian behind the same nftables redirect
#          shape, configured as the same filter (GET/HEAD of
#          ^/.well-known/acme-challenge/[A-Za-z0-9_-]{16,128}$, 405/400/404
#          for the rest, proxy_pass with Host preserved)
#   dnat   node 192.0.2.102: kernel DNAT + masquerade straight to the router,
#          no userspace hop: the limit of this rig
#
# Fairness: both proxies get the same CPUs (--proxy-cpus, default all) with
# GOMAXPROCS = nginx worker_processes = the number of those CPUs; the load
# generator and the upstream share the machine with them (--rig-cpus, default
# all), so a proxy that costs more CPU per request leaves less to the rest and
# serves fewer requests, and the CPU time each proxy spends per request is
# reported beside its req/s. The contenders run alternately (the starting contender rotates every round),
# every round measures each of them back to back, and the summary reports
# medians of per-round ratios. Every request opens a new connection
# ("Connection: close"), as an ACME validator does; our proxy disables
# keep-alive anyway.
#
# Then the daemon's footprint: RSS idle, and RSS and challenge latency while a
# client holds --flood-conns slow connections to API_VIP:80 (reopening the
# ones the daemon closes). Everything (namespaces, processes, temp files) is
# removed on exit, also on failure or Ctrl-C; results stay in --out.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat <<'EOF'
Usage: hack/bench-dataplane.sh [options]   (as root)

  --quick               smoke run: 1 round of 1 s, concurrency 16, a 2,000-connection flood for 8 s
  --rounds N            rounds of alternating contenders (default 5)
  --duration SECONDS    measured time of each run (default 2), after a 0.5 s warm-up
  --concurrency "LIST"  closed-loop client connections (default "1 16 128")
  --proxy-cpus LIST     CPUs both proxies are pinned to (taskset syntax; default: all); GOMAXPROCS and
                        nginx worker_processes are set to their number
  --rig-cpus LIST       CPUs of the load generator and the upstream (default: all)
  --flood-conns N       slow connections of the footprint test (default 10000)
  --flood-hold SECONDS  how long they are held (default 30)
  --flood-trickle DUR   one more header byte per slow connection this often (default 2s; 0 = idle)
  --max-connections N   the daemon's --max-connections (default: the daemon's own default)
  --no-throughput       skip the req/s comparison
  --no-flood            skip the footprint test
  --fix                 also flood hack/bench/evictproxy, the proposed accept-and-evict listener
  --daemon-binary PATH  use this binary instead of building ./cmd/... into the work dir
  --out DIR             where results go (default _output/bench/dataplane-<time>)
  --keep                keep the work dir (configs, logs) after the run
EOF
}

ROUNDS=5
DURATION=2
WARMUP=0.5
CONCURRENCY="1 16 128"
ALL_CPUS="0-$(($(nproc) - 1))"
PROXY_CPUS="${ALL_CPUS}"
RIG_CPUS="${ALL_CPUS}"
FLOOD_CONNS=10000
FLOOD_HOLD=30
FLOOD_TRICKLE=2s
MAX_CONNECTIONS=""
THROUGHPUT=1
FLOOD=1
FIX=0
DAEMON_BINARY=""
OUT=""
KEEP=0
while (($#)); do
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
    --max-connections) MAX_CONNECTIONS="$2"; shift ;;
    --no-throughput) THROUGHPUT=0 ;;
    --no-flood) FLOOD=0 ;;
    --fix) FIX=1 ;;
    --daemon-binary) DAEMON_BINARY="$2"; shift ;;
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

# --- Fixed names and addresses ------------------------------------------------
# Documentation addresses only (RFC 5737).
CLIENT_ADDR=192.0.2.31
ROUTER_ADDR=192.0.2.21
INGRESS_VIP=192.0.2.200
declare -A NODE_ADDR=([ours]=192.0.2.11 [nginx]=192.0.2.12 [dnat]=192.0.2.13 [fix]=192.0.2.14)
declare -A API_VIP=([ours]=192.0.2.100 [nginx]=192.0.2.101 [dnat]=192.0.2.102 [fix]=192.0.2.103)
LISTEN_PORT=8888
API_HOST=api.cluster.example.test
# A token with the shape of cert-manager's: 43 base64url characters.
TOKEN=LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
KEY_AUTH="${TOKEN}.account-key-thumbprint"
CHALLENGE_PATH="/.well-known/acme-challenge/${TOKEN}"
CONTENDERS=(ours nginx dnat)

# Namespaces are named h01b-<this pid>-<role>, so that leftovers of a run
# that was killed outright can be told from those of a run in progress.
NS_PREFIX="h01b-$$"
NS_SWITCH="${NS_PREFIX}-sw"
NS_CLIENT="${NS_PREFIX}-client"
NS_ROUTER="${NS_PREFIX}-router"
declare -A NS_NODE=([ours]="${NS_PREFIX}-ours" [nginx]="${NS_PREFIX}-nginx" [dnat]="${NS_PREFIX}-dnat" [fix]="${NS_PREFIX}-fix")

count_cpus() { # taskset list -> number of CPUs
  local n=0 part
  IFS=, read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    if [[ "${part}" == *-* ]]; then n=$((n + ${part#*-} - ${part%-*} + 1)); else n=$((n + 1)); fi
  done
  echo "${n}"
}
PROXY_NCPU=$(count_cpus "${PROXY_CPUS}")

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# --- Packages -----------------------------------------------------------------
ensure_packages() {
  local -A package_of=([ip]=iproute2 [nft]=nftables [nginx]=nginx [taskset]=util-linux)
  local missing=() command
  for command in "${!package_of[@]}"; do
    command -v "${command}" >/dev/null 2>&1 || missing+=("${package_of[${command}]}")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  # Installing nginx must not start it on the host: a policy-rc.d that
  # refuses service starts stands in during the install, unless one exists.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e "${policy}" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"${policy}"
    chmod +x "${policy}"
    added_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  ((added_policy)) && rm -f "${policy}"
  return "${rc}"
}
ensure_packages
command -v go >/dev/null || { echo "bench-dataplane: needs Go to build the daemon and the load generator" >&2; exit 1; }

# --- Cleanup --------------------------------------------------------------------
WORK="$(mktemp -d /tmp/h01b-bench.XXXXXX)"
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  local pid
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
  local ns
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

# --- Build ----------------------------------------------------------------------
mkdir -p "${WORK}/bin"
export GOFLAGS=-mod=vendor GOTOOLCHAIN=local
log "building the load generator$([[ -z "${DAEMON_BINARY}" ]] && echo ' and the daemon')"
(cd "${ROOT}" && go build -o "${WORK}/bin/loadgen" ./hack/bench/loadgen)
if [[ -z "${DAEMON_BINARY}" ]]; then
  # Our own copy: other builds may be rewriting _output/bin meanwhile.
  (cd "${ROOT}" && go build -trimpath -o "${WORK}/bin/daemon" ./cmd/cluster-http01-challenge-proxy-operator)
  DAEMON_BINARY="${WORK}/bin/daemon"
fi
if ((FIX)); then
  (cd "${ROOT}" && go build -trimpath -o "${WORK}/bin/evictproxy" ./hack/bench/evictproxy)
fi
LOADGEN="${WORK}/bin/loadgen"

[[ -n "${OUT}" ]] || OUT="${ROOT}/_output/bench/dataplane-$(date +%Y%m%d-%H%M%S)"
mkdir -p "${OUT}"
RESULTS="${OUT}/results.txt"
: >"${RESULTS}"

# Enough file descriptors for the flood, for the client and the servers
# (CRI-O gives containers 1048576); as many as this machine allows up to 65536.
hard_nofile=$(ulimit -Hn)
[[ "${hard_nofile}" == unlimited ]] && hard_nofile=65536
ulimit -n "$((hard_nofile < 65536 ? hard_nofile : 65536))"
if (($(ulimit -n) < FLOOD_CONNS + 1024)); then
  log "warning: ulimit -n is $(ulimit -n), too few for ${FLOOD_CONNS} flood connections"
fi

# --- Topology -------------------------------------------------------------------
in_ns() { local ns="$1"; shift; ip netns exec "${ns}" "$@"; }
ports=0
attach() { # attach NS ADDR... : a veth from NS to the switch's bridge
  local ns="$1"; shift
  ports=$((ports + 1))
  ip link add eth0 netns "${ns}" type veth peer name "port${ports}" netns "${NS_SWITCH}"
  ip -n "${NS_SWITCH}" link set "port${ports}" master br0 up
  local addr
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
NODES=(ours nginx dnat)
((FIX)) && NODES+=(fix)
for who in "${NODES[@]}"; do
  new_ns "${NS_NODE[${who}]}"
  attach "${NS_NODE[${who}]}" "${NODE_ADDR[${who}]}" "${API_VIP[${who}]}"
done

# Rig settings, the same for every contender: a connection per request at
# tens of thousands a second would otherwise run out of ephemeral ports
# (TIME_WAIT) and fill conntrack (120 s TIME_WAIT entries).
for ns in "${NS_CLIENT}" "${NS_ROUTER}" "${NS_NODE[@]}"; do
  [[ -e "/run/netns/${ns}" ]] || continue
  in_ns "${ns}" sysctl -qw net.ipv4.ip_local_port_range="15000 64999" net.ipv4.tcp_tw_reuse=1
done

# --- Upstream: nginx on the router ------------------------------------------------
nginx_common() { # nginx_common NAME WORKERS: main-context lines
  cat <<EOF
daemon off;
master_process on;
worker_processes $2;
pid ${WORK}/$1.pid;
error_log ${WORK}/$1.error.log warn;
events { worker_connections 16384; }
EOF
}
nginx_http_common() {
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
  nginx_common router 1
  echo "http {"
  nginx_http_common router
  cat <<EOF
  keepalive_requests 1000000;
  # Only the API host name gets the token: a proxy that lost the Host header
  # gets 421 and the benchmark reports failures.
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
PIDS+=($!) # first: ROUTER_PIDS below

# --- (a) ours -------------------------------------------------------------------
DAEMON_ARGS=(daemon "--api-vips=${API_VIP[ours]}" "--ingress-vips=${INGRESS_VIP}" "--listen-port=${LISTEN_PORT}")
[[ -z "${MAX_CONNECTIONS}" ]] || DAEMON_ARGS+=("--max-connections=${MAX_CONNECTIONS}")
ip netns exec "${NS_NODE[ours]}" taskset -c "${PROXY_CPUS}" env GOMAXPROCS="${PROXY_NCPU}" "${DAEMON_BINARY}" "${DAEMON_ARGS[@]}" >"${WORK}/daemon.log" 2>&1 &
DAEMON_PID=$!
PIDS+=("${DAEMON_PID}")

# --- (b) nginx as the same filter, behind the same redirect shape -----------------
{
  nginx_common nginx "${PROXY_NCPU}"
  echo "http {"
  nginx_http_common nginx
  cat <<EOF
  # Our server's limits: no keep-alive, 5 s for the headers, 8 KiB of them.
  keepalive_timeout 0;
  client_header_timeout 5s;
  client_body_timeout 10s;
  send_timeout 15s;
  large_client_header_buffers 4 8k;
  # Our upstream transport: 2 s to connect, 5 s for the response headers,
  # at most 2 idle connections kept (Go's MaxIdleConnsPerHost).
  upstream ingress {
    server ${INGRESS_VIP}:80;
    keepalive 2;
  }
  proxy_connect_timeout 2s;
  proxy_read_timeout 5s;
  proxy_http_version 1.1;
  # The same decisions as proxy.Classify, on the raw request target.
  map \$request_method \$h01_method_ok { GET 1; HEAD 1; default 0; }
  map "\$http_content_length:\$http_transfer_encoding" \$h01_has_body { ":" 0; "0:" 0; default 1; }
  map \$request_uri \$h01_challenge { "~^/\\.well-known/acme-challenge/[A-Za-z0-9_-]{16,128}\$" 1; default 0; }
  server {
    listen ${LISTEN_PORT} default_server;
    location / {
      if (\$h01_method_ok = 0) {
        add_header Allow "GET, HEAD" always;
        return 405 "only GET and HEAD are served here\n";
      }
      if (\$h01_has_body) { return 400 "an ACME challenge request has no body\n"; }
      if (\$h01_challenge = 0) { return 404 "only /.well-known/acme-challenge/<token> is served here\n"; }
      proxy_pass http://ingress;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Host \$http_host;
      proxy_set_header X-Forwarded-Proto http;
    }
  }
}
EOF
} >"${WORK}/nginx.conf"
ip netns exec "${NS_NODE[nginx]}" taskset -c "${PROXY_CPUS}" nginx -q -c "${WORK}/nginx.conf" -p "${WORK}" >"${WORK}/nginx.log" 2>&1 &
NGINX_PID=$!
PIDS+=("${NGINX_PID}")
# The same rule shape as the daemon's table: inet family, nat at dstnat,
# prerouting for traffic from outside and output (loopback) for the node's.
redirect_table() { # redirect_table TABLE VIP PORT
  cat <<EOF
table inet $1 {
  chain prerouting { type nat hook prerouting priority -100; policy accept; ip daddr $2 tcp dport 80 redirect to :$3; }
  chain output { type nat hook output priority -100; policy accept; oifname "lo" ip daddr $2 tcp dport 80 redirect to :$3; }
}
EOF
}
redirect_table h01b_redirect "${API_VIP[nginx]}" "${LISTEN_PORT}" | in_ns "${NS_NODE[nginx]}" nft -f -

# --- (c) kernel DNAT, no userspace hop ----------------------------------------------
in_ns "${NS_NODE[dnat]}" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
in_ns "${NS_NODE[dnat]}" nft -f - <<EOF
table ip h01b_dnat {
  chain prerouting { type nat hook prerouting priority -100; policy accept; ip daddr ${API_VIP[dnat]} tcp dport 80 dnat to ${INGRESS_VIP}:80; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; ct status dnat ip daddr ${INGRESS_VIP} tcp dport 80 masquerade; }
}
EOF

# --- (fix) the proposed listener, for the flood test only ------------------------------
if ((FIX)); then
  ip netns exec "${NS_NODE[fix]}" taskset -c "${PROXY_CPUS}" env GOMAXPROCS="${PROXY_NCPU}" "${WORK}/bin/evictproxy" \
    "--ingress-vip=${INGRESS_VIP}" "--listen-port=${LISTEN_PORT}" >"${WORK}/evictproxy.log" 2>&1 &
  FIX_PID=$!
  PIDS+=("${FIX_PID}")
  redirect_table h01b_redirect "${API_VIP[fix]}" "${LISTEN_PORT}" | in_ns "${NS_NODE[fix]}" nft -f -
fi

# Conntrack exists in the node namespaces now that they have nat rules:
# shorten its TIME_WAIT so a few hundred thousand closed connections do not
# fill the table (the same for every node).
for who in "${NODES[@]}"; do
  in_ns "${NS_NODE[${who}]}" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=5 2>/dev/null || true
done

# --- Ready and correct? ----------------------------------------------------------------
log "waiting for the daemon to be ready"
in_ns "${NS_NODE[ours]}" "${LOADGEN}" get -addr 127.0.0.1:9448 -path /readyz -wait 20s -q || {
  cat "${WORK}/daemon.log" >&2
  exit 1
}
client_get() { in_ns "${NS_CLIENT}" taskset -c "${RIG_CPUS}" "${LOADGEN}" get "$@"; }
for who in "${NODES[@]}"; do
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
    client_get -addr "${vip}:80" -path "${CHALLENGE_PATH}?x=1" -expect 400 -q 2>/dev/null ||
      client_get -addr "${vip}:80" -path "${CHALLENGE_PATH}?x=1" -expect 404 -q
  fi
done
log "every contender answers the challenge; the filters reject the rest"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
nginx_rss_kib() { # master and workers
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1"); do total=$((total + $(rss_kib "${pid}"))); done
  echo "${total}"
}
sleep 2
IDLE_RSS_FRESH=$(rss_kib "${DAEMON_PID}")
NGINX_RSS_FRESH=$(nginx_rss_kib "${NGINX_PID}")

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
{
  echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) CPUs; load average before: ${LOAD_BEFORE}"
  echo "# proxies on CPUs ${PROXY_CPUS} (GOMAXPROCS=worker_processes=${PROXY_NCPU}); load generator and upstream on CPUs ${RIG_CPUS}"
  echo "# daemon at $(git -C "${ROOT}" rev-parse --short HEAD): ${DAEMON_ARGS[*]}"
} >>"${RESULTS}"

# --- Throughput and latency -----------------------------------------------------------
# cpu_ticks PID...: user + system CPU time of the processes (all threads),
# in clock ticks.
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
contender_pids() {
  case "$1" in
    ours) echo "${DAEMON_PID}" ;;
    nginx) echo "${NGINX_PID}" $(pgrep -P "${NGINX_PID}") ;;
    *) ;; # the kernel's work is nobody's process
  esac
}
ROUTER_PIDS="${PIDS[0]} $(pgrep -P "${PIDS[0]}" | tr '\n' ' ')"
measure() { # measure ROUND PATH C CONTENDER
  local round="$1" path="$2" c="$3" who="$4" target expect line pids before router_before all
  if [[ "${path}" == challenge ]]; then target="${CHALLENGE_PATH}" expect=200; else target=/ expect=404; fi
  pids=$(contender_pids "${who}")
  before=$(cpu_ticks ${pids}) router_before=$(cpu_ticks ${ROUTER_PIDS})
  line=$(in_ns "${NS_CLIENT}" taskset -c "${RIG_CPUS}" "${LOADGEN}" load -addr "${API_VIP[${who}]}:80" \
    -path "${target}" -expect "${expect}" -c "${c}" -d "${DURATION}s" -warmup "${WARMUP}s" -timeout 10s 2>>"${WORK}/loadgen.err")
  # CPU time per request over every request of the run (warm-up included).
  all=$(sed -n 's/.* all=\([0-9]*\).*/\1/p' <<<"${line}")
  line+=" proxy_cpu_us=$((($(cpu_ticks ${pids}) - before) * 1000000 / CLK_TCK / (all > 0 ? all : 1)))"
  line+=" upstream_cpu_us=$((($(cpu_ticks ${ROUTER_PIDS}) - router_before) * 1000000 / CLK_TCK / (all > 0 ? all : 1)))"
  echo "round=${round} path=${path} c=${c} contender=${who} ${line}" | tee -a "${RESULTS}" >&2
}
rotate() { # rotate N ITEMS...: the items, starting at the N-th
  local n=$(($1 % ($# - 1))); shift
  local items=("$@")
  echo "${items[@]:n}" "${items[@]:0:n}"
}
if ((THROUGHPUT)); then
  log "throughput: ${ROUNDS} rounds x concurrency {${CONCURRENCY}} x {${CONTENDERS[*]}} on the challenge path, {ours nginx} on the reject path; ${DURATION}s each"
  for round in $(seq "${ROUNDS}"); do
    for c in ${CONCURRENCY}; do
      for who in $(rotate "$((round - 1))" "${CONTENDERS[@]}"); do
        measure "${round}" challenge "${c}" "${who}"
      done
      for who in $(rotate "$((round - 1))" ours nginx); do
        measure "${round}" reject "${c}" "${who}"
      done
    done
  done
fi
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "# load average after the throughput runs: ${LOAD_AFTER}" >>"${RESULTS}"

# --- Footprint ----------------------------------------------------------------------------
sleep 3
IDLE_RSS_AFTER=$(rss_kib "${DAEMON_PID}")
NGINX_RSS_AFTER=$(nginx_rss_kib "${NGINX_PID}")
{
  echo "# footprint: daemon RSS idle ${IDLE_RSS_FRESH} KiB fresh, ${IDLE_RSS_AFTER} KiB after the load;" \
    "nginx (master + ${PROXY_NCPU} worker) ${NGINX_RSS_FRESH} KiB fresh, ${NGINX_RSS_AFTER} KiB after"
} | tee -a "${RESULTS}" >&2

flood() { # flood NAME VIP PID
  log "flood: ${FLOOD_CONNS} slow connections to $1 (${2}:80) for ${FLOOD_HOLD}s, a challenge probe every second"
  in_ns "${NS_CLIENT}" taskset -c "${RIG_CPUS}" "${LOADGEN}" flood -addr "${2}:80" -path "${CHALLENGE_PATH}" \
    -conns "${FLOOD_CONNS}" -hold "${FLOOD_HOLD}s" -trickle "${FLOOD_TRICKLE}" -timeout 20s -pid "$3" \
    >"${OUT}/flood-$1.txt" 2>&1 || true
  local summary
  summary=$(grep '^flood_conns=' "${OUT}/flood-$1.txt" || echo "failed: see ${OUT}/flood-$1.txt")
  echo "# flood $1: ${summary} idle_rss_after_kib=$(sleep 12; rss_kib "$3")" | tee -a "${RESULTS}" >&2
}
if ((FLOOD)); then
  flood ours "${API_VIP[ours]}" "${DAEMON_PID}"
  ((FIX)) && flood fix "${API_VIP[fix]}" "${FIX_PID}"
fi

# --- Summary ----------------------------------------------------------------------------------
{
  echo "Load average: ${LOAD_BEFORE} before, ${LOAD_AFTER} after the throughput runs ($(nproc) CPUs)."
  echo
  if ((THROUGHPUT)); then "${LOADGEN}" summarize "${RESULTS}"; echo; fi
  grep '^# footprint\|^# flood' "${RESULTS}" | sed 's/^# /- /'
} >"${OUT}/summary.md"
cat "${OUT}/summary.md"
log "results in ${OUT}"
