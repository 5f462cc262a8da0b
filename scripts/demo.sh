#!/usr/bin/env bash
# The quickest real thing calico-ts does today: start a private etcd on loopback, apply Calico
# resources with calicoctl exactly as with Calico, read them back, and show a rejected resource.
# Installs what it needs; leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

work=$(mktemp -d /tmp/calico-ts-demo.XXXXXX)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
peer=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
etcd --name demo --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "demo=http://127.0.0.1:$peer" --log-level error >"$work/etcd.log" 2>&1 &
etcd_pid=$!
cleanup() { kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
until curl -sf "http://127.0.0.1:$port/health" | grep -q '"health":"true"'; do sleep 0.05; done

export ETCD_ENDPOINTS="http://127.0.0.1:$port"
ctl() { echo; echo "\$ calicoctl $*"; bin/calicoctl "$@"; }

echo "==> etcd is serving on $ETCD_ENDPOINTS (data in $work)"
ctl apply -f examples/ippools.yaml
ctl get ippools -o wide
ctl apply -f examples/policies.yaml
ctl apply -f examples/k8s-networkpolicy.yaml
ctl get networkpolicies -n prod
ctl get networkpolicy allow-web -n prod -o yaml
ctl get tiers
echo
echo "==> a resource with a host-bits CIDR and a bad selector is rejected, and nothing is written:"
printf 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: broken}\nspec: {cidr: 10.70.0.1/24, nodeSelector: "a == b"}\n' >"$work/broken.yaml"
ctl create -f "$work/broken.yaml" || echo "(exit status $?)"
ctl get ippools
echo "==> done; etcd stopped and its data removed."
