#!/usr/bin/env bash
# Sourceable helpers of the local cluster scripts (hack/local-cluster/*.sh,
# hack/demo.sh, make test-e2e).
#
#   source "${REPO_ROOT}/hack/local-cluster/lib.sh"
#   localcluster::prepare       # packages, operator binary, tools, CLI
#   localcluster::running demo  # is that instance up?

if [[ -n "${__LOCAL_CLUSTER_LIB_SOURCED:-}" ]]; then
  return 0
fi
__LOCAL_CLUSTER_LIB_SOURCED=1

# shellcheck source=hack/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/tools.sh"

# LOCAL_CLUSTER_BIN: the CLI of test/framework/localcluster.
LOCAL_CLUSTER_BIN="${REPO_ROOT}/_output/bin/local-cluster"
# KUBECTL: the pinned kubectl of hack/build-tools.sh.
KUBECTL="${TOOLS_BIN_DIR}/kubectl"
export LOCAL_CLUSTER_BIN KUBECTL

# localcluster::step MESSAGE... : a progress line.
localcluster::step() {
  printf '==> %s\n' "$*"
}

# localcluster::die MESSAGE... : print an error and exit 1.
localcluster::die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# localcluster::require_root : the cluster needs network namespaces.
localcluster::require_root() {
  if [[ "$(id -u)" != 0 ]]; then
    localcluster::die "the local cluster creates network namespaces and nftables rules; run this as root"
  fi
}

# localcluster::dir INSTANCE : the instance's directory.
localcluster::dir() {
  echo "${REPO_ROOT}/_output/local-cluster/$1"
}

# localcluster::running INSTANCE : succeeds if a process of the instance
# is alive. It reads the pid files ("<pid> <start time>") itself, so that it
# needs no build, and compares the start time with /proc so that a recycled
# pid does not count.
localcluster::running() {
  local pidfile pid start stat rest fields
  for pidfile in "$(localcluster::dir "$1")"/run/*.pid; do
    [[ -f "${pidfile}" ]] || continue
    read -r pid start <"${pidfile}" || continue
    [[ -r "/proc/${pid}/stat" ]] || continue
    stat="$(<"/proc/${pid}/stat")" || continue
    # Field 22 (start time) is the 20th after the ")" that ends field 2.
    rest="${stat##*) }"
    read -r -a fields <<<"${rest}"
    if [[ "${fields[0]}" != Z && "${fields[19]}" == "${start}" ]]; then
      return 0
    fi
  done
  return 1
}

# localcluster::ensure_packages : iproute2 (ip), nftables (nft), util-linux
# (setpriv, nsenter) and the container runtime (containerd, runc, the CNI
# plugins), from Debian if they are missing.
localcluster::ensure_packages() {
  if [[ -x "${REPO_ROOT}/hack/ensure-packages.sh" ]]; then
    "${REPO_ROOT}/hack/ensure-packages.sh"
  fi
  local missing=() cmd
  declare -A package=([ip]=iproute2 [nft]=nftables [setpriv]=util-linux)
  for cmd in ip nft setpriv; do
    command -v "${cmd}" >/dev/null 2>&1 || missing+=("${package[${cmd}]}")
  done
  if ((${#missing[@]} > 0)); then
    localcluster::step "Installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

# localcluster::build_cli : builds the local-cluster CLI (a few seconds once
# the operator is built: they share most packages) and the pods' sandbox
# binary, which goes into the local pause image.
localcluster::build_cli() {
  (cd "${REPO_ROOT}" && GOFLAGS=-mod=vendor GOTOOLCHAIN=local go build -o "${LOCAL_CLUSTER_BIN}" ./hack/local-cluster)
  (cd "${REPO_ROOT}" && GOFLAGS=-mod=vendor GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "${REPO_ROOT}/_output/bin/local-cluster-pause" ./test/images/pause)
}

# localcluster::prepare : everything a cluster needs, built if missing or
# stale. Each build is incremental: a second run takes seconds.
localcluster::prepare() {
  localcluster::ensure_packages
  localcluster::step "Building the operator binary (make build; the first build takes 3-8 min on 2 cores)"
  make -C "${REPO_ROOT}" --no-print-directory build
  localcluster::step "Building the pinned tools and fetching the OpenShift CRDs (hack/build-tools.sh; the first build takes 9-21 min on 2 cores, later runs are no-ops)"
  "${REPO_ROOT}/hack/build-tools.sh"
  localcluster::step "Building the local-cluster CLI"
  localcluster::build_cli
}
