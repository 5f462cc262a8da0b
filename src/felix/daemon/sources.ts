/** What Felix watches: every kind its calculation graph consumes, plus the IPAM blocks. */
import { prefixSource, resourceSource, type SyncSource } from "../../datastore/index.js";
import { IPAM_BLOCK_PREFIX } from "../calc/model/ipam.js";

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

export function felixSources(): SyncSource[] {
  return [
    ...FELIX_KINDS.map((kind) => resourceSource(kind)),
    // The text is converted by the calc graph; blocks' 64-bit sequence numbers don't matter here.
    prefixSource("IPAMBlock", IPAM_BLOCK_PREFIX, (kv) => (kv.key.includes("/block/") ? kv.value : undefined)),
  ];
}
