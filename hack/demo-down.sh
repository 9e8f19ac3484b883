#!/usr/bin/env bash
# make demo-down: removes everything make demo created: its processes, its
# network namespaces (and with them every nftables rule of the proxies) and
# _output/local-cluster/demo. The built binaries stay.
set -euo pipefail

exec "$(dirname "${BASH_SOURCE[0]}")/local-cluster/down.sh" --instance=demo
