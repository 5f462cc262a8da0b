/**
 * Routes over Calico's address space (Felix's L3RouteResolver, simplified): local workloads'
 * addresses to their interfaces, remote IPAM blocks via the node they are affine to, this
 * host's own blocks as blackholes, addresses borrowed from another node's block, node IPs and
 * tunnel addresses, and each pool's own CIDR as `cidr-info`. Every route carries its
 * longest-prefix pool's facts (encapsulation, NAT) and, for routes via another node, whether
 * that node shares this host's subnet. Inputs mark destinations dirty; `flush` recomputes just
 * those.
 */
import { type CIDR, cidrContains, cidrContainsIP, familyBits, parseCIDR, parseIP } from "../../lib/net.js";
import type { EndpointUpdate } from "./dispatcher.js";
import type { EventSequencer } from "./event-sequencer.js";
import type { IPPoolType, RouteType, RouteUpdate } from "./messages.js";
import type { ModelBlock, ModelNode, ModelPool } from "./model/types.js";

const TYPE_ORDER: readonly RouteType[] = [
  "cidr-info",
  "local-workload",
  "remote-workload",
  "local-host",
  "remote-host",
  "local-tunnel",
  "remote-tunnel",
];

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

function remove<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

function hostRoute(ip: string): string {
  return ip.includes(":") ? `${ip}/128` : `${ip}/32`;
}

export class RouteResolver {
  readonly #pools = new Map<string, { pool: ModelPool; cidr: CIDR }>();
  readonly #blocks = new Map<string, ModelBlock>();
  readonly #blocksByNode = new Map<string, Set<string>>();
  /** Borrowed address → owning node. */
  readonly #borrowed = new Map<string, string>();
  readonly #borrowedByNode = new Map<string, Set<string>>();
  readonly #nodes = new Map<string, ModelNode>();
  /** Host route (`<node ip>/32`) → nodes claiming that IP. */
  readonly #hostIps = new Map<string, Set<string>>();
  /** Tunnel address route → nodes claiming it. */
  readonly #tunnelIps = new Map<string, Set<string>>();
  readonly #localWeps = new Map<string, { dsts: string[]; iface: string }>();
  readonly #wepsByDst = new Map<string, Set<string>>();
  readonly #dirty = new Set<string>();
  readonly #sent = new Map<string, string>();

  constructor(
    private readonly hostname: string,
    private readonly sequencer: EventSequencer,
  ) {}

  onPool = (update: { key: string; value: ModelPool | null }): void => {
    const old = this.#pools.get(update.key);
    if (update.value) {
      const cidr = parseCIDR(update.value.cidr)!;
      this.#pools.set(update.key, { pool: update.value, cidr });
      this.#dirtyWithin(cidr);
    } else if (old) {
      this.#pools.delete(update.key);
      this.#dirtyWithin(old.cidr);
    }
    this.#dirty.add(update.key);
  };

  onBlock = (update: { key: string; value: ModelBlock | null }): void => {
    const old = this.#blocks.get(update.key);
    if (old) {
      if (old.node) remove(this.#blocksByNode, old.node, update.key);
      for (const [dst, node] of old.borrowed) {
        this.#borrowed.delete(dst);
        remove(this.#borrowedByNode, node, dst);
        this.#dirty.add(dst);
      }
    }
    if (update.value) {
      this.#blocks.set(update.key, update.value);
      if (update.value.node) add(this.#blocksByNode, update.value.node, update.key);
      for (const [dst, node] of update.value.borrowed) {
        this.#borrowed.set(dst, node);
        add(this.#borrowedByNode, node, dst);
        this.#dirty.add(dst);
      }
    } else {
      this.#blocks.delete(update.key);
    }
    this.#dirty.add(update.key);
  };

  onNode = (update: { key: string; value: ModelNode | null }): void => {
    const old = this.#nodes.get(update.key);
    this.#indexNodeAddresses(update.key, old, remove);
    if (update.value) this.#nodes.set(update.key, update.value);
    else this.#nodes.delete(update.key);
    this.#indexNodeAddresses(update.key, update.value ?? undefined, add);
    if (update.key === this.hostname && old?.ipv4Subnet !== update.value?.ipv4Subnet) {
      // Our own subnet decides `sameSubnet` on every route via another node: rare, so recompute all.
      for (const dst of this.#sent.keys()) this.#dirty.add(dst);
    }
    // Routes via this node carry its IP as next hop.
    for (const dst of this.#blocksByNode.get(update.key) ?? []) this.#dirty.add(dst);
    for (const dst of this.#borrowedByNode.get(update.key) ?? []) this.#dirty.add(dst);
  };

  #indexNodeAddresses(
    name: string,
    node: ModelNode | undefined,
    op: (map: Map<string, Set<string>>, key: string, value: string) => void,
  ): void {
    if (!node) return;
    for (const ip of [node.ipv4, node.ipv6]) {
      if (!ip) continue;
      op(this.#hostIps, hostRoute(ip), name);
      this.#dirty.add(hostRoute(ip));
    }
    for (const ip of [node.ipv4VxlanTunnelAddr, node.ipv4IpipTunnelAddr, node.ipv6VxlanTunnelAddr]) {
      if (!ip) continue;
      op(this.#tunnelIps, hostRoute(ip), name);
      this.#dirty.add(hostRoute(ip));
    }
  }

  /** Local endpoints only; host endpoints have no routes. */
  onEndpoint = (update: EndpointUpdate): void => {
    const old = this.#localWeps.get(update.key);
    if (old) {
      for (const dst of old.dsts) {
        remove(this.#wepsByDst, dst, update.key);
        this.#dirty.add(dst);
      }
      this.#localWeps.delete(update.key);
    }
    const ep = update.value;
    if (ep?.kind !== "wep") return;
    const dsts = [...ep.ipv4Nets, ...ep.ipv6Nets];
    this.#localWeps.set(update.key, { dsts, iface: ep.iface });
    for (const dst of dsts) {
      add(this.#wepsByDst, dst, update.key);
      this.#dirty.add(dst);
    }
  };

  flush(): void {
    for (const dst of this.#dirty) {
      const route = this.#compute(dst);
      if (!route) {
        if (this.#sent.delete(dst)) this.sequencer.onRouteRemove({ type: "RouteRemove", dst });
        continue;
      }
      const text = JSON.stringify(route);
      if (this.#sent.get(dst) === text) continue;
      this.#sent.set(dst, text);
      this.sequencer.onRouteUpdate(route);
    }
    this.#dirty.clear();
  }

  #dirtyWithin(pool: CIDR): void {
    const maps: Iterable<string>[] = [
      this.#pools.keys(),
      this.#blocks.keys(),
      this.#borrowed.keys(),
      this.#hostIps.keys(),
      this.#tunnelIps.keys(),
      this.#wepsByDst.keys(),
    ];
    for (const keys of maps) {
      for (const dst of keys) {
        const c = parseCIDR(dst);
        if (c && cidrContains(pool, c)) this.#dirty.add(dst);
      }
    }
  }

  #enclosingPool(dst: CIDR): ModelPool | undefined {
    let best: { pool: ModelPool; cidr: CIDR } | undefined;
    for (const p of this.#pools.values()) {
      if (cidrContains(p.cidr, dst) && (!best || p.cidr.prefix > best.cidr.prefix)) best = p;
    }
    return best?.pool;
  }

  #compute(dst: string): RouteUpdate | undefined {
    const cidr = parseCIDR(dst);
    if (!cidr) return undefined;
    const types = new Set<RouteType>();
    let nodeName: string | undefined;
    let iface: string | undefined;
    let blackhole = false;
    let borrowed = false;

    if (this.#pools.has(dst)) types.add("cidr-info");

    const weps = this.#wepsByDst.get(dst);
    if (weps && weps.size > 0) {
      types.add("local-workload");
      nodeName = this.hostname;
      // Two endpoints may briefly share an address; pick one deterministically.
      iface = [...weps]
        .sort()
        .map((k) => this.#localWeps.get(k)!.iface)
        .find((i) => i !== "");
    }

    const block = this.#blocks.get(dst);
    if (block?.node === this.hostname) {
      types.add("local-workload");
      nodeName ??= this.hostname;
      blackhole = cidr.prefix < familyBits(cidr.family);
    } else if (block?.node) {
      types.add("remote-workload");
      nodeName ??= block.node;
    }

    const borrower = this.#borrowed.get(dst);
    if (borrower !== undefined) {
      borrowed = true;
      if (borrower === this.hostname) {
        types.add("local-workload");
        nodeName ??= this.hostname;
      } else if (!weps) {
        types.add("remote-workload");
        nodeName ??= borrower;
      }
    }

    for (const node of this.#hostIps.get(dst) ?? []) {
      types.add(node === this.hostname ? "local-host" : "remote-host");
      nodeName ??= node;
    }
    for (const node of this.#tunnelIps.get(dst) ?? []) {
      types.add(node === this.hostname ? "local-tunnel" : "remote-tunnel");
      nodeName ??= node;
    }

    if (types.size === 0) return undefined;
    const pool = this.#enclosingPool(cidr);
    let ipPoolType: IPPoolType = "none";
    if (pool)
      ipPoolType = pool.vxlanMode !== "Never" ? "vxlan" : pool.ipipMode !== "Never" ? "ipip" : "no-encap";
    const route: RouteUpdate = {
      type: "RouteUpdate",
      dst,
      types: TYPE_ORDER.filter((t) => types.has(t)),
      ipPoolType,
      natOutgoing: pool?.natOutgoing ?? false,
      crossSubnet:
        pool !== undefined && (pool.vxlanMode === "CrossSubnet" || pool.ipipMode === "CrossSubnet"),
      blackhole,
      borrowed,
    };
    if (nodeName !== undefined) {
      route.dstNodeName = nodeName;
      const node = this.#nodes.get(nodeName);
      const ip = cidr.family === 4 ? node?.ipv4 : node?.ipv6 || node?.ipv4;
      if (ip) route.dstNodeIp = ip;
      const ownSubnet = this.#nodes.get(this.hostname)?.ipv4Subnet;
      const nodeIp = node?.ipv4 ? parseIP(node.ipv4) : undefined;
      const subnet = ownSubnet ? parseCIDR(ownSubnet) : undefined;
      if (subnet && nodeIp) route.sameSubnet = cidrContainsIP(subnet, nodeIp);
    }
    if (iface) route.localWorkloadInterface = iface;
    return route;
  }
}
