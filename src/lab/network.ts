/**
 * The lab's network layout, decided before anything is made: an L2 fabric (every node on one
 * bridge, as real racks on one segment) or an L3 fabric (nodes spread over several subnets, one
 * bridge each, joined by a router namespace that knows nothing of pod addresses, so pod traffic
 * between subnets only gets through encapsulated), the encapsulation the default pool uses, and
 * the fabric's MTU.
 */
export type Encap = "none" | "vxlan" | "ipip";

export interface LabNetwork {
  fabric: "l2" | "l3";
  encap: Encap;
  crossSubnet: boolean;
  /** Number of node subnets (1 on an L2 fabric). */
  subnets: number;
  /** MTU of the fabric links; absent: the kernel's 1500. */
  mtu?: number;
}

export const DEFAULT_NETWORK: LabNetwork = { fabric: "l2", encap: "none", crossSubnet: false, subnets: 1 };

export class NetworkOptionError extends Error {}

export function parseNetwork(o: {
  fabric?: string;
  encap?: string;
  crossSubnet?: boolean;
  subnets?: number;
  mtu?: number;
}): LabNetwork {
  const fabric = o.fabric ?? "l2";
  if (fabric !== "l2" && fabric !== "l3")
    throw new NetworkOptionError(`--fabric must be l2 or l3, not '${fabric}'`);
  const encap = o.encap ?? "none";
  if (encap !== "none" && encap !== "vxlan" && encap !== "ipip")
    throw new NetworkOptionError(`--encap must be vxlan, ipip or none, not '${encap}'`);
  if (o.crossSubnet && encap === "none")
    throw new NetworkOptionError("--cross-subnet needs --encap vxlan or ipip: it says when to encapsulate");
  if (o.subnets !== undefined && fabric !== "l3") throw new NetworkOptionError("--subnets needs --fabric l3");
  const subnets = fabric === "l3" ? (o.subnets ?? 2) : 1;
  if (fabric === "l3" && (!Number.isInteger(subnets) || subnets < 2 || subnets > 8))
    throw new NetworkOptionError(`--subnets must be between 2 and 8, not ${subnets}`);
  if (o.mtu !== undefined && (!Number.isInteger(o.mtu) || o.mtu < 1280 || o.mtu > 9000))
    throw new NetworkOptionError(`--mtu must be between 1280 and 9000, not ${o.mtu}`);
  return {
    fabric,
    encap,
    crossSubnet: o.crossSubnet ?? false,
    subnets,
    ...(o.mtu !== undefined ? { mtu: o.mtu } : {}),
  };
}

export interface NodeAddress {
  ip: string;
  prefixLength: number;
  /** 1-based subnet index (always 1 on an L2 fabric). */
  subnet: number;
  /** Default gateway: the router on L3; on L2 a dead end that only lets proxy ARP answer pods. */
  gateway: string;
  /** The fabric bridge the node plugs into. */
  bridge: string;
}

/** Node `i` (1-based); on L3 the nodes take the subnets in turn, unless one is asked for. */
export function nodeAddress(net: LabNetwork, i: number, subnet?: number): NodeAddress {
  if (net.fabric === "l2")
    return { ip: `172.30.0.${i}`, prefixLength: 24, subnet: 1, gateway: "172.30.0.254", bridge: "br0" };
  const s = subnet ?? ((i - 1) % net.subnets) + 1;
  if (!Number.isInteger(s) || s < 1 || s > net.subnets)
    throw new NetworkOptionError(`--subnet must be between 1 and ${net.subnets}, not ${subnet}`);
  return {
    ip: `172.30.${s}.${i}`,
    prefixLength: 24,
    subnet: s,
    gateway: `172.30.${s}.254`,
    bridge: `br${s}`,
  };
}

/** The bridges of the fabric namespace and the address the fabric holds on each. */
export function fabricBridges(net: LabNetwork): Array<{ bridge: string; gateway: string }> {
  if (net.fabric === "l2") return [{ bridge: "br0", gateway: "172.30.0.254/24" }];
  return Array.from({ length: net.subnets }, (_, k) => ({
    bridge: `br${k + 1}`,
    gateway: `172.30.${k + 1}.254/24`,
  }));
}

/** What calico-node is told so the default pool and the backend match the encapsulation. */
export function encapEnv(net: LabNetwork): Record<string, string> {
  const mode = net.crossSubnet ? "CrossSubnet" : "Always";
  switch (net.encap) {
    case "vxlan":
      return { CALICO_NETWORKING_BACKEND: "vxlan", CALICO_IPV4POOL_VXLAN: mode };
    case "ipip":
      return { CALICO_IPV4POOL_IPIP: mode };
    default:
      return {};
  }
}

/** Whether nodes run BIRD (and so whether readiness waits for BGP sessions). */
export function usesBgp(net: LabNetwork): boolean {
  return net.encap !== "vxlan";
}

export function describeNetwork(net: LabNetwork): string {
  const fabric = net.fabric === "l2" ? "L2 (one bridge)" : `L3 (${net.subnets} subnets behind a router)`;
  const encap =
    net.encap === "none" ? "none (BGP-routed)" : `${net.encap} ${net.crossSubnet ? "CrossSubnet" : "Always"}`;
  return `fabric ${fabric}, encapsulation ${encap}, fabric MTU ${net.mtu ?? 1500}`;
}
