#!/usr/bin/env bash
# The README's main command: installs what is needed, then starts a 3-node dual-stack Calico lab on
# this host (network namespaces, BGP mesh over BIRD for IPv4 and IPv6, Felix enforcing policy), puts
# pods in two namespaces on different nodes, shows who reaches whom over each family, applies a
# Kubernetes NetworkPolicy with calicoctl, and shows the effect. The lab keeps running afterwards;
# the last lines say how to use and remove it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

lab() { echo; echo "\$ calico-lab $*"; bin/calico-lab "$@"; }

if bin/calico-lab status >/dev/null 2>&1; then
  echo "==> a lab is already running; removing it first"
  bin/calico-lab down
fi
lab up --nodes 3 --ipv6
lab namespace create dev --labels env=dev
lab namespace create prod --labels env=prod
lab pod create dev/web --node node1 --labels app=web --serve tcp:80:http
lab pod create dev/client --node node2 --labels app=client --serve tcp:80
lab pod create prod/client --node node3 --labels app=client --serve tcp:80
lab status

echo
echo "==> every pod reaches every other pod across nodes over IPv4 and IPv6, routed by BGP (no overlay):"
lab matrix --port 80 --family both

eval "$(bin/calico-lab env)"
echo
echo "==> routes node2 learned from BIRD, one per remote block and family:"
ip -n "${CALICO_LAB_PREFIX:-calab}-node2" route show proto bird
ip -n "${CALICO_LAB_PREFIX:-calab}-node2" -6 route show proto bird
echo
echo "==> applying a Kubernetes NetworkPolicy: dev/web accepts TCP 80 only from app=client pods in env=dev namespaces"
cat examples/lab/web-policy.yaml
echo "\$ calicoctl apply -f examples/lab/web-policy.yaml"
bin/calicoctl apply -f examples/lab/web-policy.yaml
sleep 1
lab matrix --port 80 --family both

cat <<'TEXT'

==> the lab is still running. To use it:
  eval "$(bin/calico-lab env)"          # point calicoctl at the lab's etcd
  bin/calicoctl get nodes -o wide
  bin/calicoctl get networkpolicy -A
  bin/calico-lab pod create dev/another --labels app=client --serve tcp:80
  bin/calico-lab probe prod/client dev/web --port 80; echo $?
  bin/calico-lab status
To remove everything it made (namespaces, processes, files):
  bin/calico-lab down
TEXT
