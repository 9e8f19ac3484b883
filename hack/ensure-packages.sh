#!/usr/bin/env bash
# Installs the Debian packages the integration tests need, if any is missing:
#
#   iproute2   `ip` for network namespaces, veth pairs and bridges
#   nftables   the `nft` CLI, used only by tests to tamper with the daemon's
#              rules and to list them (the daemon itself speaks netlink)
#   containerd, runc, containernetworking-plugins
#              the container runtime under the local cluster's kubelets
#
# Idempotent and quick when everything is there: it only looks for the
# commands, and runs apt-get (update once, then install) only for what lacks.
# Needs root (or sudo) to install; CI runs as root.
set -euo pipefail

# command -> package that provides it
declare -A PACKAGE_OF=(
  [ip]=iproute2
  [nft]=nftables
  [nsenter]=util-linux
  [containerd]=containerd
  [runc]=runc
)

missing=()
for command in "${!PACKAGE_OF[@]}"; do
  # /usr/sbin is not on every PATH (e.g. a non-root shell), so look there too.
  if ! PATH="${PATH}:/usr/sbin:/sbin" command -v "${command}" >/dev/null 2>&1; then
    missing+=("${PACKAGE_OF[${command}]}")
  fi
done

# The CNI plugins are not on PATH.
if [[ ! -x /usr/lib/cni/bridge ]]; then
  missing+=(containernetworking-plugins)
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

if ((EUID == 0)); then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "ensure-packages: missing ${missing[*]}, and not root to install them" >&2
  exit 1
fi

echo "ensure-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
