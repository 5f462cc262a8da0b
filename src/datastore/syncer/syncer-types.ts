/**
 * The syncer types (Calico's syncersv1): what each client of the datastore watches. Felix and
 * confd watch these directly, and Typha serves the same sets to them, so they live here, below
 * all three.
 */
import { prefixSource, resourceSource } from "./sources.js";
import type { SyncSource } from "./types.js";

/** Calico's IPAM blocks, by etcd key. */
const IPAM_BLOCK_PREFIX = "/calico/ipam/v2/assignment/";
/** Every host's block affinities; Typha serves all of them and each confd keeps its own. */
export const AFFINITY_ROOT = "/calico/ipam/v2/host/";

/** Staged policies are not watched: they never change enforcement. */
const FELIX_KINDS = [
  "ClusterInformation",
  "FelixConfiguration",
  "Node",
  "IPPool",
  "Tier",
  "Profile",
  "NetworkPolicy",
  "GlobalNetworkPolicy",
  "NetworkSet",
  "GlobalNetworkSet",
  "HostEndpoint",
  "WorkloadEndpoint",
] as const;

/** What Felix watches: every kind its calculation graph consumes, plus the IPAM blocks. */
export function felixSources(): SyncSource[] {
  return [
    ...FELIX_KINDS.map((kind) => resourceSource(kind)),
    // The text is converted by the calc graph; blocks' 64-bit sequence numbers don't matter here.
    prefixSource("IPAMBlock", IPAM_BLOCK_PREFIX, (kv) => (kv.key.includes("/block/") ? kv.value : undefined)),
  ];
}

/** Kinds the BGP (confd) syncer watches besides block affinities. */
export const BGP_KINDS = ["Node", "BGPPeer", "BGPConfiguration", "IPPool"] as const;

/** What the BGP (confd) syncer watches; `affinityPrefix` narrows the affinities to one host. */
export function bgpSources(affinityPrefix = AFFINITY_ROOT): SyncSource[] {
  return [
    ...BGP_KINDS.map((k) => resourceSource(k)),
    prefixSource("BlockAffinity", affinityPrefix, (kv) => kv.value),
  ];
}
