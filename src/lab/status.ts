/** `calico-lab status`: etcd, the network, Typhas, each node's state and readiness, the pods. */
import { join } from "node:path";
import { etcdUrl, withClient } from "./datastore.js";
import { clusterStatusLines } from "./etcd-cluster.js";
import { DEFAULT_NETWORK, describeNetwork } from "./network.js";
import { nodeReady } from "./nodes.js";
import { alive, readText } from "./processes.js";
import type { LabNode, LabPaths, LabState } from "./state.js";
import { typhasInUse } from "./typha.js";

/** Each node's VXLAN or IPIP tunnel address, from its Node resource. */
async function tunnelAddresses(paths: LabPaths): Promise<Map<string, string>> {
  return withClient(paths, async (_c, store) => {
    const out = new Map<string, string>();
    for (const node of (await store.list("Node")).items) {
      const spec = (node.spec ?? {}) as {
        ipv4VXLANTunnelAddr?: string;
        bgp?: { ipv4IPIPTunnelAddr?: string };
      };
      const addr = spec.ipv4VXLANTunnelAddr ?? spec.bgp?.ipv4IPIPTunnelAddr;
      if (addr && node.metadata?.name) out.set(node.metadata.name, addr);
    }
    return out;
  });
}

export async function labStatus(paths: LabPaths, state: LabState): Promise<string> {
  const address = (n: LabNode) => (n.ip6 ? `${n.ip}, ${n.ip6}` : n.ip);
  const w = Math.max(13, ...state.nodes.map((n) => address(n).length));
  const lines = [
    ...(state.etcdMembers?.length
      ? await clusterStatusLines(state)
      : [
          `etcd: ${etcdUrl(state)} (pid ${state.etcd?.pid}, ${alive(state.etcd?.pid) ? "running" : "NOT RUNNING"})`,
        ]),
    `network: ${describeNetwork(state.network ?? DEFAULT_NETWORK)}`,
  ];
  if (state.routeReflectors?.length)
    lines.push(`route reflectors: ${state.routeReflectors.join(", ")} (node-to-node mesh off)`);
  for (const t of state.typhas ?? [])
    lines.push(`${t.name}: ${t.ip}:5473 (pid ${t.pid}, ${alive(t.pid) ? "running" : "NOT RUNNING"})`);
  const withTypha = (state.typhas ?? []).length > 0;
  lines.push(
    "",
    `NODE     ${"ADDRESS".padEnd(w)} SUBNET           TUNNEL         MTU    ${withTypha ? "TYPHA           " : ""}STATUS`,
  );
  const tunnels = await tunnelAddresses(paths).catch(() => new Map<string, string>());
  for (const n of state.nodes) {
    const failures = alive(n.pid) ? await nodeReady(paths, state, n.name) : ["calico-node is not running"];
    const subnet = `${n.ip.split(".").slice(0, 3).join(".")}.0/24`;
    const mtu = readText(join(paths.dir, n.name, "mtu")) ?? "-";
    const typha = withTypha ? `${((await typhasInUse(state, n.netns)).join(",") || "-").padEnd(15)} ` : "";
    lines.push(
      `${n.name.padEnd(8)} ${address(n).padEnd(w)} ${subnet.padEnd(16)} ${(tunnels.get(n.name) ?? "-").padEnd(14)} ${mtu.padEnd(6)} ${typha}${failures.length === 0 ? "ready" : failures.join("; ")}`,
    );
  }
  lines.push("", "POD                      NODE     IP");
  for (const [ref, p] of Object.entries(state.pods).sort())
    lines.push(`${ref.padEnd(24)} ${p.node.padEnd(8)} ${(p.ips ?? [p.ip]).join(", ")}`);
  return `${lines.join("\n")}\n`;
}
