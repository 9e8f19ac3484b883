#!/usr/bin/env bash
# Copies the OpenShift CRDs the integration tests need from the
# github.com/openshift/api module pinned in the root go.mod into
# _output/crds/openshift/. Nothing here is hand-written: the files are taken
# verbatim from the module as the Go module proxy serves it.
#
# Usage: hack/fetch-openshift-crds.sh [-f|--force]
#
# It is a no-op when the files for the pinned version are already there.
set -euo pipefail

# shellcheck source=hack/lib/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tools.sh"

export GONOSUMDB=github.com/openshift
export GOFLAGS=-mod=mod
export GOTOOLCHAIN=local
export GOWORK=off

force="${FORCE:-}"
case "${1:-}" in
  -f | --force) force=1 ;;
  "") ;;
  *) tools::die "usage: hack/fetch-openshift-crds.sh [--force]" ;;
esac

MODULE=github.com/openshift/api
DEST="${CRDS_OUTPUT_DIR}/openshift"
FILES=(
  config/v1/zz_generated.crd-manifests/0000_00_cluster-version-operator_01_clusteroperators.crd.yaml
  config/v1/zz_generated.crd-manifests/0000_00_cluster-version-operator_01_clusterversions-Default.crd.yaml
  config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_infrastructures-Default.crd.yaml
  config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_ingresses.crd.yaml
  config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_apiservers-Default.crd.yaml
  security/v1/zz_generated.crd-manifests/0000_03_config-operator_01_securitycontextconstraints.crd.yaml
  route/v1/zz_generated.crd-manifests/routes.crd.yaml
  operator/v1/zz_generated.crd-manifests/0000_50_ingress_00_ingresscontrollers.crd.yaml
)

# The pinned version, honouring a `replace` of the module in the root go.mod
# ("local" when it is replaced with a directory). -mod=readonly: this only
# reads go.mod, it never writes it.
read -r mod_path mod_version < <(
  cd "${REPO_ROOT}" &&
    GOFLAGS=-mod=readonly go list -m -f \
      '{{with .Replace}}{{.Path}} {{or .Version "local"}}{{else}}{{.Path}} {{.Version}}{{end}}' \
      "${MODULE}"
)
[[ -n "${mod_version:-}" ]] || tools::die "${MODULE} is not required in ${REPO_ROOT}/go.mod"

want_stamp="${mod_path}@${mod_version}"
if [[ -z "${force}" && -f "${DEST}/.version" && "$(cat "${DEST}/.version")" == "${want_stamp}" ]]; then
  all_there=1
  for f in "${FILES[@]}"; do
    [[ -f "${DEST}/$(basename "${f}")" ]] || all_there=""
  done
  if [[ -n "${all_there}" ]]; then
    tools::log "openshift CRDs from ${want_stamp} are up to date (${DEST})"
    exit 0
  fi
fi

if [[ "${mod_version}" == local ]]; then
  # replace with a directory, relative to the repository root.
  src="$(cd "${REPO_ROOT}" && cd "${mod_path}" && pwd -P)"
else
  tools::log "downloading ${mod_path}@${mod_version} through the Go module proxy"
  # Run outside the operator's module so that nothing there is touched.
  tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp}"' EXIT
  src="$(cd "${tmp}" && go mod download -json "${mod_path}@${mod_version}" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
fi
[[ -n "${src}" && -d "${src}" ]] || tools::die "could not download ${mod_path}@${mod_version}"

mkdir -p "${DEST}"
rm -f "${DEST}"/*.yaml "${DEST}/.version"
for f in "${FILES[@]}"; do
  [[ -f "${src}/${f}" ]] || tools::die "${mod_path}@${mod_version} has no ${f}"
  install -m 0644 "${src}/${f}" "${DEST}/$(basename "${f}")"
done
echo "${want_stamp}" >"${DEST}/.version"
tools::log "copied ${#FILES[@]} CRDs from ${want_stamp} into ${DEST}"
