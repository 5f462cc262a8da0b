/**
 * Felix's internal ("v1") model: what the update processors make of v3 resources before the
 * graph sees them. Selectors here are already namespace-rewritten; addresses are canonical CIDRs.
 */
import type { Port } from "../../../api/index.js";
import type { PolicyID, WorkloadEndpointID } from "../messages.js";

export type ModelAction = "allow" | "deny" | "next-tier" | "log";

export interface ModelIcmp {
  type: number;
  code?: number;
}

/** One side of a rule after rewriting. Empty selector strings mean "no selector constraint". */
export interface ModelEntity {
  nets: string[];
  notNets: string[];
  /** Namespace/service-account/endpoint selector combined into one, as Calico's syncer does. */
  selector: string;
  /** Passed through unchanged (not namespace-scoped). */
  notSelector: string;
  ports: Port[];
  notPorts: Port[];
}

export interface ModelRule {
  action: ModelAction;
  ipVersion?: 4 | 6;
  /** As written in v3 (`TCP`, `udp`, `6`, 132 …); normalised when rendered. */
  protocol?: string | number;
  notProtocol?: string | number;
  icmp?: ModelIcmp;
  notIcmp?: ModelIcmp;
  src: ModelEntity;
  dst: ModelEntity;
  annotations?: Record<string, string>;
}

export interface ModelPolicy {
  id: PolicyID;
  order?: number;
  /** Effective selector string (rewritten, not canonicalised — exactly what Calico produces). */
  selector: string;
  inbound: ModelRule[];
  outbound: ModelRule[];
  /** Empty `types` on a stored policy counts as both directions. */
  ingress: boolean;
  egress: boolean;
  doNotTrack: boolean;
  preDNAT: boolean;
  applyOnForward: boolean;
  performanceHints: string[];
}

export interface ModelProfile {
  name: string;
  inbound: ModelRule[];
  outbound: ModelRule[];
  labels: Record<string, string>;
}

export interface ModelTier {
  name: string;
  order?: number;
  defaultAction: "deny" | "pass";
}

export interface ModelEndpointPort {
  name: string;
  /** Lower-case `tcp`, `udp` or `sctp`. */
  protocol: string;
  port: number;
}

export interface ModelWorkloadEndpoint {
  kind: "wep";
  id: WorkloadEndpointID;
  hostname: string;
  iface: string;
  mac?: string;
  profileIds: string[];
  ipv4Nets: string[];
  ipv6Nets: string[];
  ipv4Nat: { extIp: string; intIp: string }[];
  ipv6Nat: { extIp: string; intIp: string }[];
  labels: Record<string, string>;
  ports: ModelEndpointPort[];
  allowSpoofedSourcePrefixes: string[];
  annotations?: Record<string, string>;
  qosControls?: Record<string, unknown>;
}

export interface ModelHostEndpoint {
  kind: "hep";
  /** The HostEndpoint's name. */
  endpointId: string;
  hostname: string;
  /** As written: a name, `*` (all interfaces), or "" (found by expected IPs). */
  iface: string;
  expectedIpv4: string[];
  expectedIpv6: string[];
  profileIds: string[];
  labels: Record<string, string>;
  ports: ModelEndpointPort[];
}

export type ModelEndpoint = ModelWorkloadEndpoint | ModelHostEndpoint;

export interface ModelNetworkSet {
  kind: "netset";
  nets: string[];
  labels: Record<string, string>;
  profileIds: string[];
}

export type EncapMode = "Never" | "Always" | "CrossSubnet";

export interface ModelPool {
  cidr: string;
  natOutgoing: boolean;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  disabled: boolean;
  allowedUses: string[];
}

export interface ModelBlock {
  cidr: string;
  /** Node the block is affine to, when its affinity is `host:<node>`. */
  node?: string;
  /** Single addresses (as /32 or /128 CIDRs) allocated to a node other than the block's. */
  borrowed: Map<string, string>;
}

export interface ModelNode {
  name: string;
  /** Address without prefix length, "" when unset. */
  ipv4: string;
  ipv6: string;
  /** The node's subnet in CIDR form (from its BGP address), for CrossSubnet decisions. */
  ipv4Subnet?: string;
  asNumber: string;
  labels: Record<string, string>;
  ipv4VxlanTunnelAddr?: string;
  vxlanTunnelMac?: string;
  ipv4IpipTunnelAddr?: string;
  ipv6VxlanTunnelAddr?: string;
  vxlanTunnelMacV6?: string;
}

export interface ModelFelixConfiguration {
  name: string;
  /** Felix config-name → string value (one entry per set field, plus annotation overrides). */
  values: Record<string, string>;
  nodeSelector?: string;
  creationTimestamp: string;
}
