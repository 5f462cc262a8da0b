#!/usr/bin/env bash
# Installs every system package and npm dependency calico-ts needs on Debian 12. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(curl openssl etcd-server etcd-client iproute2 nftables iptables ipset conntrack podman runc containernetworking-plugins busybox-static)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts etcd as a system service on install; calico-ts runs its own instances.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "==> building"
npm run --silent build
