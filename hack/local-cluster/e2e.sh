#!/usr/bin/env bash
# make test-e2e: runs the end-to-end suite (test/e2e) against a local cluster
# of its own, and removes the cluster afterwards, also when the tests fail or
# are interrupted. As root.
#
# The cluster is the instance "e2e", under _output/local-cluster/e2e: it has
# its own namespaces and loopback ports, so a running demo is left alone and
# both can run at once. The suite gets the cluster through KUBECONFIG and,
# for the data-plane tests, E2E_LOCAL_HARNESS (the cluster's state file).
#
# Environment:
#   E2E_ARGS            extra `go test` arguments, e.g. -run=.../disable -v
#   E2E_KEEP_CLUSTER=1  leave the cluster running afterwards, for debugging
#                       (hack/local-cluster/down.sh --instance=e2e removes it)
set -euo pipefail

# shellcheck source=hack/local-cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INSTANCE=e2e
DIR="$(localcluster::dir "${INSTANCE}")"
E2E_TIMEOUT=20m

localcluster::require_root
if localcluster::running "${INSTANCE}"; then
  localcluster::die "a local cluster ${INSTANCE} is already running (another make test-e2e, or one that was killed): remove it with hack/local-cluster/down.sh --instance=${INSTANCE}"
fi
localcluster::prepare
localcluster::step "Vetting the suite"
# make verify vets without build tags; the suite's files need -tags e2e.
(cd "${REPO_ROOT}" && GOFLAGS=-mod=vendor GOTOOLCHAIN=local go vet -tags e2e ./test/e2e/...)

cluster_started=""
# Runs on every exit, including failures and Ctrl-C: the logs of a failed
# run are copied out before the cluster (and its directory) goes away.
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "${cluster_started}" ]]; then
    if [[ "${status}" != 0 ]]; then
      local saved
      saved="${REPO_ROOT}/_output/e2e-logs/$(date +%Y%m%dT%H%M%S)"
      mkdir -p "${saved}"
      cp -r "${DIR}/logs/." "${saved}/" 2>/dev/null || true
      # The pods' logs, as kubectl logs reads them, per node.
      for node_dir in "${DIR}"/nodes/*/; do
        [[ -d "${node_dir}pod-logs" ]] || continue
        mkdir -p "${saved}/pods/$(basename "${node_dir}")"
        cp -r "${node_dir}pod-logs/." "${saved}/pods/$(basename "${node_dir}")/" 2>/dev/null || true
      done
      echo "The local cluster's logs are in ${saved#"${REPO_ROOT}/"}" >&2
    fi
    if [[ "${E2E_KEEP_CLUSTER:-}" == 1 ]]; then
      echo "E2E_KEEP_CLUSTER=1: the cluster keeps running: export KUBECONFIG=${DIR}/kubeconfig" >&2
    else
      localcluster::step "Removing the local cluster ${INSTANCE}"
      "${LOCAL_CLUSTER_BIN}" down --instance="${INSTANCE}" || status=1
    fi
  fi
  exit "${status}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

localcluster::step "Bringing up the local cluster ${INSTANCE}"
cluster_started=1
"${LOCAL_CLUSTER_BIN}" up --instance="${INSTANCE}"

localcluster::step "Running the end-to-end suite against it"
# shellcheck disable=SC2086 # E2E_ARGS is a list of go test arguments
(cd "${REPO_ROOT}" &&
  KUBECONFIG="${DIR}/kubeconfig" E2E_LOCAL_HARNESS="${DIR}/state.json" \
    GOFLAGS=-mod=vendor GOTOOLCHAIN=local \
    go test -tags e2e -count=1 -timeout "${E2E_TIMEOUT}" -v ./test/e2e/... ${E2E_ARGS:-})
