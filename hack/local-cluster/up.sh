#!/usr/bin/env bash
# Brings up a local, simulated bare-metal OpenShift cluster and leaves it
# running (see test/framework/localcluster): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok on loopback, manifests/
# applied, the operator running as a local process, and the nodes' data plane
# in network namespaces. Needs root.
#
# Usage: hack/local-cluster/up.sh [--instance=NAME] [--workers=N]
#
#   --instance  name of the cluster (default demo); instances run side by
#               side, each under _output/local-cluster/NAME
#   --workers   number of simulated workers (default 2)
#
# Exits 3 if the instance is already running. hack/local-cluster/down.sh
# removes it.
set -euo pipefail

# shellcheck source=hack/local-cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

instance=demo
workers=2
while (($# > 0)); do
  case "$1" in
    --instance=*) instance="${1#*=}" ;;
    --workers=*) workers="${1#*=}" ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) localcluster::die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

localcluster::require_root
if localcluster::running "${instance}"; then
  echo "Local cluster ${instance} is already running: export KUBECONFIG=$(localcluster::dir "${instance}")/kubeconfig" >&2
  echo "Remove it with: hack/local-cluster/down.sh --instance=${instance}" >&2
  exit 3
fi
localcluster::prepare
localcluster::step "Bringing up local cluster ${instance}"
exec "${LOCAL_CLUSTER_BIN}" up --instance="${instance}" --workers="${workers}"
