/**
 * What the overlay should look like on this host,
 * decided from the calc graph's facts without touching the kernel: the VXLAN device and its
 * per-VTEP neighbour and FDB entries, the IPIP device, every cluster route (blackholes for this
 * host's blocks, remote blocks plainly routed, through `vxlan.calico` or through `tunl0`), and
 * the MTUs. Drivers turn this plan into kernel state.
 */
import type { IPPoolType, RouteUpdate, VXLANTunnelEndpointUpdate } from "../../calc/messages.js";
import { canonicalNet } from "../nft/elements.js";

export const VXLAN_DEVICE = "vxlan.calico";
export const IPIP_DEVICE = "tunl0";

/** Encapsulation overheads Calico subtracts from the host MTU. */
export const OVERHEAD = { vxlan: 50, vxlanV6: 70, ipip: 20 } as const;
/** Felix's fallback when no interface matches `MTUIfacePattern`: the smallest common cloud MTU. */
export const FALLBACK_HOST_MTU = 1460;
/** Felix's default `MTUIfacePattern`. */
export const DEFAULT_MTU_IFACE_PATTERN = "^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)";

export interface ClusterRoute {
  dst: string;
  /** Next hop; absent for a blackhole. */
  via?: string;
  /** Output device, when the route must leave through a given one (a tunnel, the parent). */
  dev?: string;
  /** The next hop is reachable on `dev` whatever its subnet (tunnel peers, CrossSubnet peers). */
  onlink?: boolean;
}

export interface VxlanDevice {
  name: string;
  vni: number;
  port: number;
  /** This node's IP: the outer source. */
  local: string;
  /** The interface carrying that IP. */
  parent: string;
  mac: string;
  /** This node's tunnel address (no prefix length). */
  address: string;
  mtu: number;
}

export interface VxlanPeer {
  node: string;
  tunnelIp: string;
  mac: string;
  nodeIp: string;
}

export interface IpipDevice {
  name: string;
  /** This node's IPIP tunnel address, once calico-node has allocated it. */
  address?: string;
  mtu: number;
}

export interface TunnelSettings {
  vni: number;
  port: number;
  /** 0: host MTU minus the overhead. */
  vxlanMtu: number;
  /** IPv6 VXLAN (`VXLANMTUV6`); its device is not programmed yet, but it bounds the pod MTU. */
  vxlanMtuV6: number;
  ipipMtu: number;
}

export interface TunnelInputs {
  hostname: string;
  vxlanEnabled: boolean;
  /** Some IPv6 pool uses VXLAN. */
  vxlanEnabledV6?: boolean;
  ipipEnabled: boolean;
  vteps: ReadonlyMap<string, VXLANTunnelEndpointUpdate>;
  routes: Iterable<RouteUpdate>;
  owned: ReadonlySet<IPPoolType>;
  /** The interface carrying this node's IPv4 address, when known. */
  parent?: string;
  hostMtu: number;
  settings: TunnelSettings;
  /** The IPIP device can exist here (false on a kernel without the ipip module). */
  ipipAvailable: boolean;
}

export interface Mtus {
  host: number;
  vxlan: number;
  vxlanV6: number;
  ipip: number;
  /** What new workloads' interfaces get: the smallest MTU among enabled encapsulations. */
  pod: number;
}

export interface TunnelPlan {
  /** Absent: no VXLAN device may exist. */
  vxlan?: VxlanDevice;
  vxlanPeers: VxlanPeer[];
  /** Absent: IPIP is off (the device, which the kernel owns, is left down without an address). */
  ipip?: IpipDevice;
  routes: ClusterRoute[];
  mtus: Mtus;
  /** Why some wanted state cannot be programmed (shown in logs, not fatal). */
  problems: string[];
}

export function computeMtus(
  hostMtu: number,
  settings: Pick<TunnelSettings, "vxlanMtu" | "vxlanMtuV6" | "ipipMtu">,
  enabled: { vxlan: boolean; vxlanV6?: boolean; ipip: boolean },
): Mtus {
  const vxlan = settings.vxlanMtu > 0 ? settings.vxlanMtu : hostMtu - OVERHEAD.vxlan;
  const vxlanV6 = settings.vxlanMtuV6 > 0 ? settings.vxlanMtuV6 : hostMtu - OVERHEAD.vxlanV6;
  const ipip = settings.ipipMtu > 0 ? settings.ipipMtu : hostMtu - OVERHEAD.ipip;
  const candidates = [
    ...(enabled.vxlan ? [vxlan] : []),
    ...(enabled.vxlanV6 ? [vxlanV6] : []),
    ...(enabled.ipip ? [ipip] : []),
  ];
  return {
    host: hostMtu,
    vxlan,
    vxlanV6,
    ipip,
    pod: candidates.length > 0 ? Math.min(...candidates) : hostMtu,
  };
}

/** Smallest MTU among oper-up interfaces whose name matches the pattern; Felix's fallback otherwise. */
export function detectHostMtu(
  links: Iterable<{ ifname: string; mtu?: number; operstate?: string; flags?: string[] }>,
  pattern: RegExp,
): { mtu: number; iface?: string } {
  let best: { mtu: number; iface: string } | undefined;
  for (const l of links) {
    if (!pattern.test(l.ifname) || l.mtu === undefined) continue;
    // LOWER_UP (carrier) is current at once; operstate lags behind it by up to a second.
    const flags = l.flags ?? [];
    const up = l.operstate === "UP" || (flags.includes("UP") && flags.includes("LOWER_UP"));
    if (!up) continue;
    if (!best || l.mtu < best.mtu) best = { mtu: l.mtu, iface: l.ifname };
  }
  return best ?? { mtu: FALLBACK_HOST_MTU };
}

function isV6(cidr: string): boolean {
  return cidr.includes(":");
}

export function planTunnels(inp: TunnelInputs): TunnelPlan {
  const problems: string[] = [];
  const mtus = computeMtus(inp.hostMtu, inp.settings, {
    vxlan: inp.vxlanEnabled,
    vxlanV6: inp.vxlanEnabledV6 ?? false,
    ipip: inp.ipipEnabled,
  });
  const self = inp.vteps.get(inp.hostname);
  let vxlan: VxlanDevice | undefined;
  if (inp.vxlanEnabled && self) {
    if (inp.parent)
      vxlan = {
        name: VXLAN_DEVICE,
        vni: inp.settings.vni,
        port: inp.settings.port,
        local: self.parentDeviceIp,
        parent: inp.parent,
        mac: self.mac,
        address: self.ipv4Addr,
        mtu: mtus.vxlan,
      };
    else
      problems.push(
        `no interface carries this node's address ${self.parentDeviceIp}: VXLAN device not created`,
      );
  }
  const vxlanPeers: VxlanPeer[] = vxlan
    ? [...inp.vteps.values()]
        .filter((v) => v.node !== inp.hostname)
        .map((v) => ({ node: v.node, tunnelIp: v.ipv4Addr, mac: v.mac, nodeIp: v.parentDeviceIp }))
        .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
    : [];
  const peerByNode = new Map(vxlanPeers.map((p) => [p.node, p]));

  let ipip: IpipDevice | undefined;
  if (inp.ipipEnabled) {
    ipip = { name: IPIP_DEVICE, mtu: mtus.ipip };
    for (const r of inp.routes)
      if (r.types.includes("local-tunnel") && r.ipPoolType === "ipip" && r.dstNodeName === inp.hostname)
        ipip.address = r.dst.split("/")[0] as string;
    if (!inp.ipipAvailable) problems.push("the kernel has no ipip support: IPIP routes are not programmed");
  }

  const routes: ClusterRoute[] = [];
  for (const r of inp.routes) {
    if (!inp.owned.has(r.ipPoolType)) continue;
    const dst = canonicalNet(r.dst);
    if (r.blackhole) {
      routes.push({ dst });
      continue;
    }
    if (!r.types.includes("remote-workload") || r.types.includes("local-workload") || !r.dstNodeIp) continue;
    const direct = r.ipPoolType === "no-encap" || (r.crossSubnet && r.sameSubnet === true);
    if (direct) {
      routes.push(
        inp.parent && r.ipPoolType !== "no-encap"
          ? { dst, via: r.dstNodeIp, dev: inp.parent, onlink: true }
          : { dst, via: r.dstNodeIp },
      );
    } else if (r.ipPoolType === "vxlan") {
      // IPv6 VXLAN needs `vxlan-v6.calico`, which calico-ts does not program yet.
      const peer = r.dstNodeName ? peerByNode.get(r.dstNodeName) : undefined;
      if (peer && !isV6(dst)) routes.push({ dst, via: peer.tunnelIp, dev: VXLAN_DEVICE, onlink: true });
    } else if (r.ipPoolType === "ipip" && inp.ipipAvailable && !isV6(dst)) {
      routes.push({ dst, via: r.dstNodeIp, dev: IPIP_DEVICE, onlink: true });
    }
  }
  return { ...(vxlan ? { vxlan } : {}), vxlanPeers, ...(ipip ? { ipip } : {}), routes, mtus, problems };
}
