/** BGP kinds. */
import type { Resource } from "../meta.js";
import type { ASNumber } from "../values.js";
import type { Duration, EnabledDisabled, SecretRef } from "./common.js";

export interface ServiceIPBlock {
  cidr?: string;
}

export interface Community {
  name: string;
  /** `aa:nn` (16-bit parts) or `aa:nn:mm` (32-bit parts). */
  value: string;
}

export interface PrefixAdvertisement {
  cidr: string;
  /** Literal community values or names defined in `communities`. */
  communities: string[];
}

export type ProgramClusterRoutes = "Enabled" | "Disabled" | "EnabledIPIPOnly" | "EnabledNoEncapOnly";

export interface BGPConfigurationSpec {
  logSeverityScreen?: string;
  nodeToNodeMeshEnabled?: boolean;
  asNumber?: ASNumber;
  serviceLoadBalancerIPs?: ServiceIPBlock[];
  serviceExternalIPs?: ServiceIPBlock[];
  serviceClusterIPs?: ServiceIPBlock[];
  serviceLoadBalancerAggregation?: EnabledDisabled;
  communities?: Community[];
  prefixAdvertisements?: PrefixAdvertisement[];
  listenPort?: number;
  nodeMeshPassword?: SecretRef;
  nodeMeshMaxRestartTime?: Duration;
  bindMode?: "None" | "NodeIP";
  ignoredInterfaces?: string[];
  localWorkloadPeeringIPV4?: string;
  localWorkloadPeeringIPV6?: string;
  programClusterRoutes?: ProgramClusterRoutes;
  ipv4NormalRoutePriority?: number;
  ipv6NormalRoutePriority?: number;
}

export type BGPConfiguration = Resource<BGPConfigurationSpec>;

export interface BGPPeerSpec {
  node?: string;
  nodeSelector?: string;
  /** `IP`, `IPv4:port` or `[IPv6]:port`. */
  peerIP?: string;
  asNumber?: ASNumber;
  localASNumber?: ASNumber;
  peerSelector?: string;
  keepOriginalNextHop?: boolean;
  nextHopMode?: "Auto" | "Self" | "Keep";
  password?: SecretRef;
  sourceAddress?: "UseNodeIP" | "None";
  maxRestartTime?: Duration;
  keepaliveTime?: Duration;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  reachableBy?: string;
  filters?: string[];
  localWorkloadSelector?: string;
  reversePeering?: "Auto" | "Manual";
}

export type BGPPeer = Resource<BGPPeerSpec>;

export interface BGPFilterOperation {
  addCommunity?: { value: string };
  prependASPath?: { prefix: ASNumber[] };
  setPriority?: { value: number };
}

export interface BGPFilterRule {
  cidr?: string;
  prefixLength?: { min?: number; max?: number };
  source?: "RemotePeers";
  interface?: string;
  matchOperator?: "Equal" | "NotEqual" | "In" | "NotIn";
  peerType?: "eBGP" | "iBGP";
  communities?: { values: string[] };
  asPathPrefix?: ASNumber[];
  priority?: number;
  action: "Accept" | "Reject";
  operations?: BGPFilterOperation[];
}

export interface BGPFilterSpec {
  exportV4?: BGPFilterRule[];
  importV4?: BGPFilterRule[];
  exportV6?: BGPFilterRule[];
  importV6?: BGPFilterRule[];
}

export type BGPFilter = Resource<BGPFilterSpec>;
