#!/usr/bin/env bash
# Installs every system package and npm dependency calico-ts needs on Debian 12. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(curl openssl etcd-server etcd-client iproute2 nftables iptables ipset conntrack podman runc containernetworking-plugins busybox-static bird2 gobgpd frr iperf3 tcpdump socat docker.io chromium)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages such as bird2, frr and etcd-server start system services on install; calico-ts runs
  # its own instances inside namespaces, so nothing may start in the host's network namespace.
  policy_rc_d=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy_rc_d" ] && had_policy=1
  if [ "$had_policy" = 0 ]; then printf '#!/bin/sh\nexit 101\n' >"$policy_rc_d"; chmod +x "$policy_rc_d"; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$had_policy" = 0 ]; then rm -f "$policy_rc_d"; fi
  # Debian starts etcd as a system service on install; calico-ts runs its own instances.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd bird frr >/dev/null 2>&1 || true
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "==> building"
npm run --silent build
