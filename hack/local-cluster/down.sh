#!/usr/bin/env bash
# Removes a local cluster: stops every process it started (the daemons
# first remove their nftables rules), deletes its network namespaces and
# its directory under _output/local-cluster. Removing a cluster that does
# not exist succeeds. Needs root.
#
# Usage: hack/local-cluster/down.sh [--instance=NAME]   (default demo)
set -euo pipefail

# shellcheck source=hack/local-cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

instance=demo
while (($# > 0)); do
  case "$1" in
    --instance=*) instance="${1#*=}" ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) localcluster::die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

localcluster::require_root
if [[ ! -x "${LOCAL_CLUSTER_BIN}" ]]; then
  # A cluster whose CLI was deleted must still be removable.
  localcluster::step "Building the local-cluster CLI"
  localcluster::build_cli
fi
exec "${LOCAL_CLUSTER_BIN}" down --instance="${instance}"
