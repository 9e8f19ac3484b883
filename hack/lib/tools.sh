#!/usr/bin/env bash
# Sourceable helpers for the pinned test tools (etcd, kube-apiserver, ...).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"
#   tools::require kube-apiserver etcd
#   "${TOOLS_BIN_DIR}/kube-apiserver" --version
#
# The binaries themselves are built by hack/build-tools.sh into
# _output/tools/bin (git-ignored). Set TOOLS_BIN to use binaries from another
# directory.

# Guard against double sourcing.
if [[ -n "${__TOOLS_SH_SOURCED:-}" ]]; then
  return 0
fi
__TOOLS_SH_SOURCED=1

# REPO_ROOT: the root of the operator repository (the directory holding the
# root go.mod).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
# TOOLS_OUTPUT_DIR: everything the tool builds produce.
TOOLS_OUTPUT_DIR="${REPO_ROOT}/_output/tools"
# TOOLS_BIN_DIR: the built binaries, an absolute path; TOOLS_BIN overrides it
# (relative to the current directory).
TOOLS_BIN_DIR="${TOOLS_BIN:-${TOOLS_OUTPUT_DIR}/bin}"
if [[ "${TOOLS_BIN_DIR}" != /* ]]; then
  TOOLS_BIN_DIR="${PWD}/${TOOLS_BIN_DIR}"
fi
# TOOLS_STAMP_DIR: one stamp file per binary, holding what it was built from
# (kept next to the binaries when TOOLS_BIN points elsewhere).
if [[ -n "${TOOLS_BIN:-}" ]]; then
  TOOLS_STAMP_DIR="${TOOLS_BIN_DIR}/.stamps"
else
  TOOLS_STAMP_DIR="${TOOLS_OUTPUT_DIR}/stamps"
fi
# TOOLS_MODULES_DIR: the wrapper Go modules, one directory per tool group.
TOOLS_MODULES_DIR="${REPO_ROOT}/hack/tools"
# CRDS_OUTPUT_DIR: CRDs copied from pinned upstream modules.
CRDS_OUTPUT_DIR="${REPO_ROOT}/_output/crds"
export REPO_ROOT TOOLS_OUTPUT_DIR TOOLS_BIN_DIR TOOLS_STAMP_DIR TOOLS_MODULES_DIR CRDS_OUTPUT_DIR

# tools::log MESSAGE... : progress line on stderr.
tools::log() {
  echo "[tools] $*" >&2
}

# tools::die MESSAGE... : print an error and exit 1.
tools::die() {
  echo "[tools] ERROR: $*" >&2
  exit 1
}

# tools::bin NAME : print the path of a tool binary (it may not exist).
tools::bin() {
  echo "${TOOLS_BIN_DIR}/$1"
}

# tools::require NAME... : fail with a clear message unless every named
# binary exists and is executable.
tools::require() {
  local name missing=()
  for name in "$@"; do
    if [[ ! -x "${TOOLS_BIN_DIR}/${name}" ]]; then
      missing+=("${name}")
    fi
  done
  if ((${#missing[@]} > 0)); then
    for name in "${missing[@]}"; do
      echo "[tools] ERROR: ${TOOLS_BIN_DIR}/${name} is missing; build it with: hack/build-tools.sh ${name}" >&2
    done
    return 1
  fi
}
