/**
 * The BGP sessions of one node, per address family: the node-to-node mesh,
 * explicit BGPPeers (global, `node`, `nodeSelector`, `peerIP`, `peerSelector`), the reverse
 * peerings that make one BGPPeer enough for a symmetric topology, and route-reflector roles.
 */
import { createHash } from "node:crypto";
import { parseGoDuration } from "../api/duration.js";
import type { Resource } from "../api/index.js";
import { formatCIDR, networkAddress, parseCIDR } from "../lib/net.js";
import { parseSelector } from "../selector/index.js";
import { type BgpInputs, type Family, meta, type NodeInfo, type Session, spec } from "./model.js";

const DEFAULT_AS = "64512";

function addressOf(text: unknown): { ip: string; network: string } {
  if (typeof text !== "string" || text === "") return { ip: "", network: "" };
  const cidr = parseCIDR(text, { allowBareIP: true });
  if (!cidr) return { ip: "", network: "" };
  const ip = text.split("/")[0] ?? "";
  return { ip, network: formatCIDR({ ...cidr, address: networkAddress(cidr) }) };
}

export function nodeInfo(r: Resource): NodeInfo {
  const { name, labels } = meta(r);
  const bgp = (spec(r).bgp as Record<string, unknown> | undefined) ?? {};
  const v4 = addressOf(bgp.ipv4Address);
  const v6 = addressOf(bgp.ipv6Address);
  const info: NodeInfo = {
    name,
    labels,
    ipv4: v4.ip,
    ipv6: v6.ip,
    network4: v4.network,
    rrClusterId: typeof bgp.routeReflectorClusterID === "string" ? bgp.routeReflectorClusterID : "",
  };
  if (bgp.asNumber !== undefined && bgp.asNumber !== "") info.asNumber = String(bgp.asNumber);
  return info;
}

export interface PrefixAdvertisement {
  cidr: string;
  /** Literal community values (`aa:nn` or `aa:nn:mm`), names already resolved. */
  communities: string[];
}

export interface GlobalBgp {
  asNumber: string;
  /** This node's prefix advertisements: its `node.<name>` BGPConfiguration's, else the default's. */
  prefixAdvertisements: PrefixAdvertisement[];
  meshEnabled: boolean;
  listenPort?: number;
  /** Per-node listen ports (`node.<name>` BGPConfigurations). */
  nodeListenPorts: Map<string, number>;
  logSeverity: string;
}

function advertisements(
  s: Record<string, unknown>,
  names: Map<string, string>,
): PrefixAdvertisement[] | undefined {
  if (!Array.isArray(s.prefixAdvertisements)) return undefined;
  return (s.prefixAdvertisements as Array<Record<string, unknown>>).map((a) => ({
    cidr: String(a.cidr ?? ""),
    communities: (Array.isArray(a.communities) ? (a.communities as unknown[]) : []).map(
      (c) => names.get(String(c)) ?? String(c),
    ),
  }));
}

export function globalBgp(configs: readonly Resource[], nodeName = ""): GlobalBgp {
  const out: GlobalBgp = {
    asNumber: DEFAULT_AS,
    prefixAdvertisements: [],
    meshEnabled: true,
    nodeListenPorts: new Map(),
    logSeverity: "info",
  };
  const defaults = configs.find((c) => meta(c).name === "default");
  const names = new Map<string, string>();
  const communities = defaults ? spec(defaults).communities : undefined;
  for (const c of Array.isArray(communities) ? (communities as Array<Record<string, unknown>>) : [])
    names.set(String(c.name), String(c.value));
  const mine = configs.find((c) => meta(c).name === `node.${nodeName}`);
  out.prefixAdvertisements =
    (mine && advertisements(spec(mine), names)) ?? (defaults && advertisements(spec(defaults), names)) ?? [];
  for (const c of configs) {
    const { name } = meta(c);
    const s = spec(c);
    if (name === "default") {
      if (s.asNumber !== undefined) out.asNumber = String(s.asNumber);
      if (s.nodeToNodeMeshEnabled === false) out.meshEnabled = false;
      if (typeof s.listenPort === "number") out.listenPort = s.listenPort;
      if (typeof s.logSeverityScreen === "string") out.logSeverity = s.logSeverityScreen.toLowerCase();
    } else if (name.startsWith("node.") && typeof s.listenPort === "number") {
      out.nodeListenPorts.set(name.slice("node.".length), s.listenPort);
    }
  }
  return out;
}

function ipOf(n: NodeInfo, family: Family): string {
  return family === 4 ? n.ipv4 : n.ipv6;
}

function sessionName(prefix: string, ip: string, port?: number): string {
  const base = `${prefix}_${ip.replace(/[.:]/g, "_")}`;
  return port ? `${base}_port_${port}` : base;
}

function seconds(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const nanos = parseGoDuration(value);
  return nanos === undefined ? undefined : Number(nanos / 1_000_000_000n);
}

/** `CALICO_ROUTER_ID=hash`: SHA-256 of the node name, first 4 bytes, kept out of multicast. */
export function hashedRouterId(nodeName: string): string {
  const b = [...createHash("sha256").update(nodeName).digest().subarray(0, 4)];
  if ((b[0] ?? 0) > 223) b[0] = (b[0] ?? 0) - 32;
  return b.join(".");
}

export function routerId(inputs: BgpInputs, self: NodeInfo): string {
  if (inputs.routerId === "hash") return hashedRouterId(inputs.nodeName);
  return inputs.routerId || self.ipv4;
}

function matches(selector: unknown, labels: Record<string, string>): boolean {
  if (typeof selector !== "string" || selector.trim() === "") return false;
  return parseSelector(selector).matches(labels);
}

/** Whether a BGPPeer applies to this node (its local side). */
function appliesTo(peer: Resource, self: NodeInfo): "global" | "node" | undefined {
  const s = spec(peer);
  if (!s.node && !s.nodeSelector) return "global";
  if (s.node === self.name) return "node";
  if (s.nodeSelector && matches(s.nodeSelector, self.labels)) return "node";
  return undefined;
}

function splitPeerIp(text: string): { ip: string; port?: number } {
  const v6 = /^\[(.+)\]:(\d+)$/.exec(text);
  if (v6?.[1]) return { ip: v6[1], port: Number(v6[2]) };
  const v4 = /^([\d.]+):(\d+)$/.exec(text);
  if (v4?.[1]) return { ip: v4[1], port: Number(v4[2]) };
  return { ip: text };
}

export function computeSessions(inputs: BgpInputs, family: Family): Session[] {
  const nodes = inputs.nodes.map(nodeInfo);
  const self = nodes.find((n) => n.name === inputs.nodeName);
  if (!self) return [];
  const myIp = ipOf(self, family);
  if (!myIp) return [];
  const g = globalBgp(inputs.configs);
  const localAs = self.asNumber ?? g.asNumber;
  const listenPort = (n: NodeInfo) => g.nodeListenPorts.get(n.name) ?? g.listenPort;
  const byIp = new Map(nodes.filter((n) => ipOf(n, family)).map((n) => [ipOf(n, family), n]));
  const out = new Map<string, Session>();

  const add = (s: Session) => {
    if (s.ip === myIp) return;
    const key = `${s.ip}:${s.port ?? 179}`;
    if (!out.has(key)) out.set(key, s);
  };
  const isClient = (peerAs: string, peerCluster: string) =>
    self.rrClusterId !== "" && peerAs === localAs && peerCluster !== self.rrClusterId;
  const rr = (peerAs: string, peerCluster: string) =>
    isClient(peerAs, peerCluster) ? { rrClient: true, rrClusterId: self.rrClusterId } : { rrClient: false };

  // Mesh: every other non-reflector node, unless this node is itself a reflector.
  if (g.meshEnabled && self.rrClusterId === "") {
    for (const n of nodes) {
      const ip = ipOf(n, family);
      if (!ip || n.name === self.name || n.rrClusterId !== "") continue;
      const port = listenPort(n);
      add({
        name: sessionName("Mesh", ip),
        family,
        ip,
        ...(port ? { port } : {}),
        asNumber: n.asNumber ?? localAs,
        sourceAddress: myIp,
        passive: ip > myIp,
        rrClient: false,
      });
    }
  }

  const peerSettings = (s: Record<string, unknown>) => {
    const out: Partial<Session> = {};
    const keepalive = seconds(s.keepaliveTime);
    if (keepalive !== undefined) out.keepaliveSeconds = keepalive;
    const restart = seconds(s.maxRestartTime);
    if (restart !== undefined) out.restartSeconds = restart;
    if (typeof s.ttlSecurity === "number" && s.ttlSecurity > 0) out.ttlSecurity = s.ttlSecurity;
    if (s.nextHopMode === "Self") out.nextHop = "self";
    else if (s.nextHopMode === "Keep") out.nextHop = "keep";
    if (typeof s.numAllowedLocalASNumbers === "number" && s.numAllowedLocalASNumbers > 0)
      out.allowLocalAs = s.numAllowedLocalASNumbers;
    if (s.localASNumber !== undefined) out.localAs = String(s.localASNumber);
    return out;
  };

  /** A node-scoped session to another Calico node (peerSelector and reverse peerings). */
  const toNode = (n: NodeInfo, source: { sourceAddress?: string }, settings: Partial<Session>) => {
    const ip = ipOf(n, family);
    if (!ip) return;
    const port = listenPort(n);
    const asNumber = n.asNumber ?? g.asNumber;
    add({
      name: sessionName("Node", ip, port),
      family,
      ip,
      ...(port ? { port } : {}),
      asNumber,
      ...source,
      passive: false,
      ...rr(asNumber, n.rrClusterId),
      ...settings,
    });
  };

  // Explicit peers: global ones first, then node-scoped; ties broken by name for determinism.
  const peers = [...inputs.peers].sort((a, b) => {
    const sa = appliesTo(a, self) === "global" ? 0 : 1;
    const sb = appliesTo(b, self) === "global" ? 0 : 1;
    return sa - sb || (meta(a).name < meta(b).name ? -1 : 1);
  });
  for (const peer of peers) {
    const scope = appliesTo(peer, self);
    if (!scope) continue;
    const s = spec(peer);
    const settings = peerSettings(s);
    const source = s.sourceAddress === "None" ? {} : { sourceAddress: myIp };
    const prefix = scope === "global" ? "Global" : "Node";
    if (typeof s.peerIP === "string" && s.peerIP !== "") {
      const { ip, port: explicitPort } = splitPeerIp(s.peerIP);
      if (ip.includes(":") !== (family === 6)) continue;
      const asNumber = String(s.asNumber ?? localAs);
      const remoteNode = byIp.get(ip);
      const port = explicitPort ?? (remoteNode ? listenPort(remoteNode) : undefined);
      add({
        name: sessionName(prefix, ip, port),
        family,
        ip,
        ...(port ? { port } : {}),
        asNumber,
        ...source,
        passive: scope === "global" && remoteNode !== undefined && ip > myIp,
        ...rr(asNumber, ""),
        ...settings,
      });
    } else if (s.peerSelector) {
      for (const n of nodes)
        if (n.name !== self.name && matches(s.peerSelector, n.labels)) toNode(n, source, settings);
    }
  }

  // Reverse peerings: this node is the remote side of a peerSelector (or a peerIP naming it);
  // it peers back with every node on the BGPPeer's local side.
  for (const peer of peers) {
    const s = spec(peer);
    if (s.reversePeering === "Manual") continue;
    const targetsMe =
      (s.peerSelector && matches(s.peerSelector, self.labels)) ||
      (typeof s.peerIP === "string" && splitPeerIp(s.peerIP).ip === myIp);
    if (!targetsMe) continue;
    for (const n of nodes)
      if (n.name !== self.name && appliesTo(peer, n) !== undefined)
        toNode(n, { sourceAddress: myIp }, peerSettings(s));
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}
