#!/usr/bin/env bash
# Builds the pinned control-plane test tools into _output/tools/bin.
#
# Usage: hack/build-tools.sh [-f|--force] [-l|--list] [tool ...]
#
# Tools: etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
#        kubelet kwok pebble pebble-challtestsrv cert-manager-controller
#        cert-manager-acmesolver crds
# No tool means all of them. "crds" runs hack/fetch-openshift-crds.sh and
# copies cert-manager's CRDs from its pinned module into
# _output/crds/cert-manager.
#
# Every tool comes from a small wrapper Go module under hack/tools/<module>/
# whose go.mod/go.sum pin the exact upstream version. A binary is rebuilt only
# when its stamp (_output/tools/stamps/<binary>) does not match the module's
# go.mod/go.sum (and its own Go files, where it has mains of its own), the
# Go version and the build flags, so a version bump
# rebuilds and everything else is a no-op. All stale binaries of one wrapper
# module are built by a single `go build`, so they share compiled packages.
#
# Environment:
#   TOOLS_BIN   install directory (default _output/tools/bin)
#   FORCE=1     rebuild even when the stamp matches (same as --force)
set -euo pipefail

# shellcheck source=hack/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

# Build environment: modules come from the module proxy (go.sum verifies
# them), the local toolchain is used as is, binaries are static.
export GONOSUMDB=github.com/openshift
export GOFLAGS=-mod=mod
export GOTOOLCHAIN=local
export GOWORK=off
export CGO_ENABLED=0

ALL_TOOLS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kwok pebble pebble-challtestsrv
  cert-manager-controller cert-manager-acmesolver crds)

# tool -> wrapper module directory under hack/tools
declare -A TOOL_MODULE=(
  [etcd]=etcd
  [kube-apiserver]=kube
  [kube-controller-manager]=kube
  [kube-scheduler]=kube
  [kubectl]=kube
  [kubelet]=kube
  [kwok]=kwok
  [pebble]=pebble
  [pebble-challtestsrv]=pebble
  [cert-manager-controller]=certmanager
  [cert-manager-acmesolver]=certmanager
)
# tool -> main package
declare -A TOOL_PKG=(
  [etcd]=go.etcd.io/etcd/server/v3
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [kubelet]=k8s.io/kubernetes/cmd/kubelet
  [kwok]=sigs.k8s.io/kwok/cmd/kwok
  [pebble]=github.com/letsencrypt/pebble/v2/cmd/pebble
  [pebble-challtestsrv]=github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv
  # Thin mains of our own over cert-manager's exported packages: its cmd/*
  # are modules the module proxy does not serve.
  [cert-manager-controller]=./cmd/cert-manager-controller
  [cert-manager-acmesolver]=./cmd/cert-manager-acmesolver
)
# wrapper module -> upstream module whose version it pins
declare -A MODULE_UPSTREAM=(
  [etcd]=go.etcd.io/etcd/server/v3
  [kube]=k8s.io/kubernetes
  [kwok]=sigs.k8s.io/kwok
  [pebble]=github.com/letsencrypt/pebble/v2
  [certmanager]=github.com/cert-manager/cert-manager
)
# wrapper module -> cold build time (empty module and build caches), measured
# on the 2-core CI machine while it was busy with other builds; an idle one
# is faster, a slower one may take several times as long.
declare -A MODULE_COLD_TIME=(
  [etcd]="~1-2 min"
  [kube]="~6-14 min"
  [kwok]="~1.5-4 min"
  [pebble]="~10 s"
  [certmanager]="~4-8 min"
)

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

force="${FORCE:-}"
requested=()
while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    -l | --list)
      printf '%s\n' "${ALL_TOOLS[@]}"
      exit 0
      ;;
    -f | --force)
      force=1
      ;;
    all)
      requested+=("${ALL_TOOLS[@]}")
      ;;
    -*)
      usage >&2
      tools::die "unknown flag: $1"
      ;;
    *)
      if [[ "$1" != crds && -z "${TOOL_MODULE[$1]:-}" ]]; then
        tools::die "unknown tool '$1' (known: ${ALL_TOOLS[*]})"
      fi
      requested+=("$1")
      ;;
  esac
  shift
done
if ((${#requested[@]} == 0)); then
  requested=("${ALL_TOOLS[@]}")
fi

command -v go >/dev/null 2>&1 || tools::die "go is not on PATH"

mkdir -p "${TOOLS_BIN_DIR}" "${TOOLS_STAMP_DIR}"

# Serialize concurrent runs into the same directory (two test runs or
# engineers building at once).
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TOOLS_BIN_DIR}/.build.lock"
  if ! flock -n 9; then
    tools::log "another hack/build-tools.sh is building into ${TOOLS_BIN_DIR}; waiting for it"
    flock 9
  fi
fi
# Binaries are built here, beside their destination, and moved into place
# only when the build succeeded.
STAGING_ROOT="${TOOLS_BIN_DIR}/.tmp"
rm -rf "${STAGING_ROOT}"
mkdir -p "${STAGING_ROOT}"
trap 'rm -rf "${STAGING_ROOT}"' EXIT

# module_version MODULE_DIR : the pinned version of the upstream module.
module_version() {
  local mod="$1"
  (cd "${TOOLS_MODULES_DIR}/${mod}" && go list -m -f '{{.Version}}' "${MODULE_UPSTREAM[${mod}]}")
}

# module_ldflags MODULE_DIR VERSION : linker flags for the module's binaries.
module_ldflags() {
  local mod="$1" version="$2" flags="-s -w"
  if [[ "${mod}" == kube ]]; then
    # What kubernetes' own hack/lib/version.sh stamps, so that /version and
    # `kubectl version` report the real release instead of v0.0.0-master.
    # buildDate is fixed so that the link step stays reproducible.
    local major minor pkg
    major="${version#v}"
    major="${major%%.*}"
    minor="${version#v*.}"
    minor="${minor%%.*}"
    for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
      flags+=" -X ${pkg}.gitVersion=${version}"
      flags+=" -X ${pkg}.gitMajor=${major}"
      flags+=" -X ${pkg}.gitMinor=${minor}"
      flags+=" -X ${pkg}.gitTreeState=clean"
      flags+=" -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
    done
  fi
  if [[ "${mod}" == certmanager ]]; then
    # What cert-manager's release build stamps: the version it reports, and
    # the tag of its default solver image.
    flags+=" -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=${version}"
  fi
  if [[ "${mod}" == pebble ]]; then
    # cmd/pebble's -version; the challenge server has no such variable.
    flags+=" -X main.version=${version}"
  fi
  echo "${flags}"
}

# stamp_for TOOL VERSION LDFLAGS : the stamp content a fresh build must have.
stamp_for() {
  local tool="$1" version="$2" ldflags="$3" mod="${TOOL_MODULE[$1]}" sum
  sum="$(cat "${TOOLS_MODULES_DIR}/${mod}/go.mod" "${TOOLS_MODULES_DIR}/${mod}/go.sum" | sha256sum | cut -d' ' -f1)"
  printf 'tool=%s\nmodule=hack/tools/%s\nversion=%s %s\npackage=%s\ngo.sum-sha256=%s\ngo=%s %s/%s\nldflags=%s\n' \
    "${tool}" "${mod}" "${MODULE_UPSTREAM[${mod}]}" "${version}" "${TOOL_PKG[${tool}]}" "${sum}" \
    "$(go env GOVERSION)" "$(go env GOOS)" "$(go env GOARCH)" "${ldflags}"
  local sources
  sources="$(module_sources_sum "${mod}")"
  if [[ -n "${sources}" ]]; then
    printf 'sources-sha256=%s\n' "${sources}"
  fi
}

# module_sources_sum MODULE_DIR : a hash of the module's own Go files besides
# tools.go, empty when it has none (it only pins upstream mains).
module_sources_sum() {
  local dir="${TOOLS_MODULES_DIR}/$1" files
  mapfile -t files < <(cd "${dir}" && find . -name '*.go' ! -path ./tools.go | LC_ALL=C sort)
  if ((${#files[@]} == 0)); then
    return 0
  fi
  (cd "${dir}" && sha256sum "${files[@]}" | sha256sum | cut -d' ' -f1)
}

# install_cert_manager_crds : copies deploy/crds of the cert-manager module
# pinned in hack/tools/certmanager into _output/crds/cert-manager, verbatim.
install_cert_manager_crds() {
  local mod=certmanager version src dest="${CRDS_OUTPUT_DIR}/cert-manager"
  version="$(module_version "${mod}")"
  if [[ -z "${force}" && -f "${dest}/.version" && "$(cat "${dest}/.version")" == "${MODULE_UPSTREAM[${mod}]}@${version}" ]]; then
    tools::log "cert-manager CRDs ${version} are up to date (${dest})"
    return 0
  fi
  src="$(cd "${TOOLS_MODULES_DIR}/${mod}" && go list -m -f '{{.Dir}}' "${MODULE_UPSTREAM[${mod}]}")"
  [[ -d "${src}/deploy/crds" ]] || tools::die "${MODULE_UPSTREAM[${mod}]}@${version} has no deploy/crds"
  mkdir -p "${dest}"
  rm -f "${dest}"/*.yaml "${dest}/.version"
  install -m 0644 "${src}"/deploy/crds/*.yaml "${dest}/"
  echo "${MODULE_UPSTREAM[${mod}]}@${version}" >"${dest}/.version"
  tools::log "installed cert-manager CRDs ${version} into ${dest}"
}

# build_module MODULE_DIR TOOL... : build the stale tools of one wrapper module.
build_module() {
  local mod="$1"
  shift
  local version ldflags tool stale=() pkgs=() out
  version="$(module_version "${mod}")"
  ldflags="$(module_ldflags "${mod}" "${version}")"

  for tool in "$@"; do
    if [[ -z "${force}" && -x "${TOOLS_BIN_DIR}/${tool}" && -f "${TOOLS_STAMP_DIR}/${tool}" ]] &&
      [[ "$(cat "${TOOLS_STAMP_DIR}/${tool}")" == "$(stamp_for "${tool}" "${version}" "${ldflags}")" ]]; then
      tools::log "${tool} ${version} is up to date (${TOOLS_BIN_DIR}/${tool})"
    else
      stale+=("${tool}")
      pkgs+=("${TOOL_PKG[${tool}]}")
    fi
  done
  if ((${#stale[@]} == 0)); then
    return 0
  fi

  tools::log "building ${stale[*]} ${version} from hack/tools/${mod} (cold build takes ${MODULE_COLD_TIME[${mod}]} on 2 cores)…"
  local staging
  staging="$(mktemp -d "${STAGING_ROOT}/${mod}.XXXXXX")"
  if ((${#pkgs[@]} == 1)); then
    out="${staging}/${stale[0]}"
  else
    out="${staging}/"
  fi
  local start=${SECONDS}
  # 9>&-: the compiler processes need not hold the lock.
  (cd "${TOOLS_MODULES_DIR}/${mod}" && go build -buildvcs=false -ldflags="${ldflags}" -o "${out}" "${pkgs[@]}") 9>&-
  for tool in "${stale[@]}"; do
    [[ -x "${staging}/${tool}" ]] || tools::die "go build did not produce ${tool}"
    mv -f "${staging}/${tool}" "${TOOLS_BIN_DIR}/${tool}"
    stamp_for "${tool}" "${version}" "${ldflags}" >"${TOOLS_STAMP_DIR}/${tool}"
    tools::log "installed ${TOOLS_BIN_DIR}/${tool} (${version})"
  done
  rm -rf "${staging}"
  tools::log "built ${stale[*]} in $((SECONDS - start))s"
}

# Group the requested tools by wrapper module, keeping the order of
# first appearance, and build each module once.
declare -A seen=()
modules=()
declare -A module_tools=()
want_crds=""
for tool in "${requested[@]}"; do
  if [[ "${tool}" == crds ]]; then
    want_crds=1
    continue
  fi
  [[ -n "${seen[${tool}]:-}" ]] && continue
  seen[${tool}]=1
  mod="${TOOL_MODULE[${tool}]}"
  if [[ -z "${module_tools[${mod}]:-}" ]]; then
    modules+=("${mod}")
  fi
  module_tools[${mod}]+="${tool} "
done

for mod in "${modules[@]}"; do
  # shellcheck disable=SC2086 # word splitting of the tool list is intended
  build_module "${mod}" ${module_tools[${mod}]}
done

if [[ -n "${want_crds}" ]]; then
  "${REPO_ROOT}/hack/fetch-openshift-crds.sh"
  install_cert_manager_crds
fi
