/**
 * What the BIRD configuration of one node is computed from: every
 * Node, BGPPeer and IP pool, the BGPConfigurations `default` and `node.<name>`, and this node's
 * confirmed block affinities. Plain data so rendering stays pure and testable.
 */
import type { Resource } from "../api/index.js";

export interface BgpInputs {
  nodeName: string;
  nodes: readonly Resource[];
  peers: readonly Resource[];
  configs: readonly Resource[];
  pools: readonly Resource[];
  /** CIDRs of the blocks affine to this node (confirmed affinities only). */
  blocks: readonly string[];
  /** `CALICO_ROUTER_ID`: unset (node IPv4), `hash`, or a literal. */
  routerId?: string;
}

export type Family = 4 | 6;

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  /** Bare addresses ("" when unset). */
  ipv4: string;
  ipv6: string;
  /** Network of the address, e.g. `10.0.0.0/24`. */
  network4: string;
  asNumber?: string;
  rrClusterId: string;
}

export interface Session {
  /** BIRD protocol name (`Mesh_10_0_0_2`, `Global_…`, `Node_…`, `…_port_N`). */
  name: string;
  family: Family;
  ip: string;
  port?: number;
  asNumber: string;
  localAs?: string;
  sourceAddress?: string;
  passive: boolean;
  rrClient: boolean;
  /** This node's cluster ID, written with `rr client`. */
  rrClusterId?: string;
  ttlSecurity?: number;
  keepaliveSeconds?: number;
  restartSeconds?: number;
  nextHop?: "self" | "keep";
  allowLocalAs?: number;
}

type Obj = Record<string, unknown>;

export function spec(r: Resource): Obj {
  return ((r as unknown as Obj).spec as Obj | undefined) ?? {};
}

export function meta(r: Resource): { name: string; labels: Record<string, string> } {
  const m = ((r as unknown as Obj).metadata as Obj | undefined) ?? {};
  return { name: String(m.name ?? ""), labels: (m.labels as Record<string, string> | undefined) ?? {} };
}
