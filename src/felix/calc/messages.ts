/**
 * What the calculation graph tells the dataplane: Felix's `ToDataplane` message set as plain,
 * JSON-serialisable objects (so the same values can later travel over a Typha-style wire).
 *
 * Contract (see the EventSequencer): a message never refers to something not yet delivered
 * (IP sets before the policies that use them, policies/profiles before endpoints), and nothing
 * is removed while something delivered still refers to it. `*Remove` messages are explicit
 * because an empty update would be ambiguous. Nothing is emitted before the first `InSync`
 * datastore status; the first batch is the whole desired state and ends with `InSync`.
 */

// ---- IP sets ----

/** `ip` = hash:ip, `ip,port` = hash:ip,port (named ports), `net` = hash:net (selectors). */
export type IPSetType = "ip" | "ip,port" | "net";

/**
 * A set became active (or must be re-sent whole): its full membership. Members are CIDRs for
 * `net` sets (`10.0.0.5/32`, `fd00::5/128`, `10.1.0.0/16`) and `<ip>,<proto>:<port>` for
 * `ip,port` sets (`10.0.0.5,tcp:8080`). IPv4 and IPv6 members share one set; each dataplane
 * family takes its own.
 */
export interface IPSetUpdate {
  type: "IPSetUpdate";
  /** Deterministic: `s:<hash>` selector sets, `n:<hash>` named-port sets. */
  id: string;
  setType: IPSetType;
  members: string[];
}

/** Incremental change to a set already delivered. */
export interface IPSetDeltaUpdate {
  type: "IPSetDeltaUpdate";
  id: string;
  addedMembers: string[];
  removedMembers: string[];
}

export interface IPSetRemove {
  type: "IPSetRemove";
  id: string;
}

// ---- policies and profiles ----

export type PolicyKind = "GlobalNetworkPolicy" | "NetworkPolicy";

/**
 * Identity of a policy is (kind, namespace, name); `tier` is carried so chain comments and log
 * prefixes need no lookup. A policy that moves tier keeps its identity. Use `policyIdKey` for a
 * string key.
 */
export interface PolicyID {
  kind: PolicyKind;
  /** "" for global policies. */
  namespace: string;
  name: string;
  tier: string;
}

export interface ProfileID {
  name: string;
}

export type RuleAction = "allow" | "deny" | "pass" | "log";

/** Inclusive port range; a single port has `first === last`. */
export interface PortRange {
  first: number;
  last: number;
}

export interface IcmpMatch {
  type: number;
  code?: number;
}

/**
 * A rule with every selector and named port already replaced by IP-set IDs. Within one list
 * (nets, ports, IP sets) entries are ORed; all criteria are ANDed; `not*` lists are each negated
 * as a whole. Numeric ports and named-port sets on the same side are alternatives (ORed).
 */
export interface Rule {
  action: RuleAction;
  ipVersion?: 4 | 6;
  /** Lower-case name (`tcp`, `udp`, `sctp`, `icmp`, `icmpv6`, `udplite`) or protocol number. */
  protocol?: string | number;
  notProtocol?: string | number;

  srcNets: string[];
  notSrcNets: string[];
  dstNets: string[];
  notDstNets: string[];

  srcPorts: PortRange[];
  notSrcPorts: PortRange[];
  dstPorts: PortRange[];
  notDstPorts: PortRange[];

  /** `ip,port` sets matched against (src ip, src port) / (dst ip, dst port). */
  srcNamedPortIpSetIds: string[];
  notSrcNamedPortIpSetIds: string[];
  dstNamedPortIpSetIds: string[];
  notDstNamedPortIpSetIds: string[];

  /** `net` sets matched against the address; all listed sets must match. */
  srcIpSetIds: string[];
  notSrcIpSetIds: string[];
  dstIpSetIds: string[];
  notDstIpSetIds: string[];

  icmp?: IcmpMatch;
  notIcmp?: IcmpMatch;

  /** Stable 16-character identity, derived from the owner and every rule up to this one. */
  ruleId: string;
  /** The selectors as the graph evaluated them (after namespace rewriting), for diagnostics. */
  srcSelector?: string;
  notSrcSelector?: string;
  dstSelector?: string;
  notDstSelector?: string;
  annotations?: Record<string, string>;
}

export interface ActivePolicyUpdate {
  type: "ActivePolicyUpdate";
  id: PolicyID;
  policy: {
    /** Namespace of a NetworkPolicy, "" otherwise. */
    namespace: string;
    inboundRules: Rule[];
    outboundRules: Rule[];
    /** `doNotTrack`: rendered in the raw table, no conntrack. */
    untracked: boolean;
    preDnat: boolean;
    applyOnForward: boolean;
    /** The policy's effective (rewritten) selector, for diagnostics. */
    selector: string;
    /** `AssumeNeededOnEveryNode`: program even when no local endpoint references it. */
    performanceHints: string[];
  };
}

export interface ActivePolicyRemove {
  type: "ActivePolicyRemove";
  id: PolicyID;
}

export interface ActiveProfileUpdate {
  type: "ActiveProfileUpdate";
  id: ProfileID;
  profile: { inboundRules: Rule[]; outboundRules: Rule[] };
}

export interface ActiveProfileRemove {
  type: "ActiveProfileRemove";
  id: ProfileID;
}

// ---- endpoints ----

/**
 * Policies of one tier that apply to an endpoint, already in evaluation order. An ingress list
 * holds policies whose types include Ingress, likewise egress. `defaultAction` applies at the end
 * of the tier when a policy of the tier applied but none decided; a tier whose object is missing
 * gets `deny`.
 */
export interface TierInfo {
  name: string;
  ingressPolicies: PolicyID[];
  egressPolicies: PolicyID[];
  defaultAction: "deny" | "pass";
}

export interface WorkloadEndpointID {
  orchestratorId: string;
  /** `<namespace>/<workload>`. */
  workloadId: string;
  endpointId: string;
}

export interface NatMapping {
  extIp: string;
  intIp: string;
}

export interface WorkloadEndpoint {
  state: "active";
  /** Host-side interface name, e.g. `cali1234567890a`. */
  name: string;
  mac?: string;
  /** Profiles in evaluation order, after all tiers. */
  profileIds: string[];
  /** Addresses as masked CIDRs, e.g. `10.65.0.5/32`. */
  ipv4Nets: string[];
  ipv6Nets: string[];
  tiers: TierInfo[];
  ipv4Nat: NatMapping[];
  ipv6Nat: NatMapping[];
  allowSpoofedSourcePrefixes: string[];
  annotations?: Record<string, string>;
  qosControls?: Record<string, unknown>;
}

export interface WorkloadEndpointUpdate {
  type: "WorkloadEndpointUpdate";
  id: WorkloadEndpointID;
  endpoint: WorkloadEndpoint;
}

export interface WorkloadEndpointRemove {
  type: "WorkloadEndpointRemove";
  id: WorkloadEndpointID;
}

export interface HostEndpointID {
  endpointId: string;
}

export interface HostEndpoint {
  /**
   * Interface name; `*` for every host interface; empty when the dataplane must find the
   * interface carrying one of the expected addresses.
   */
  name: string;
  profileIds: string[];
  /** Normal policy: traffic to/from the host through the interface. */
  tiers: TierInfo[];
  /** `doNotTrack` policies; default action forced to `pass`. */
  untrackedTiers: TierInfo[];
  /** `preDNAT` policies; default action forced to `pass`. */
  preDnatTiers: TierInfo[];
  /** `applyOnForward` policies, for traffic forwarded through the interface. */
  forwardTiers: TierInfo[];
  expectedIpv4Addrs: string[];
  expectedIpv6Addrs: string[];
}

export interface HostEndpointUpdate {
  type: "HostEndpointUpdate";
  id: HostEndpointID;
  endpoint: HostEndpoint;
}

export interface HostEndpointRemove {
  type: "HostEndpointRemove";
  id: HostEndpointID;
}

// ---- routes, pools, hosts ----

/**
 * What a route destination is. A route carries every type that applies to its CIDR:
 * `cidr-info` (an IP pool's own CIDR: no next hop, only pool facts), `local-workload` /
 * `remote-workload` (a workload /32 or an IPAM block), `local-host` / `remote-host` (a node's
 * own IP), `local-tunnel` / `remote-tunnel` (a node's tunnel address).
 */
export type RouteType =
  | "cidr-info"
  | "local-workload"
  | "remote-workload"
  | "local-host"
  | "remote-host"
  | "local-tunnel"
  | "remote-tunnel";

export type IPPoolType = "none" | "no-encap" | "vxlan" | "ipip";

export interface RouteUpdate {
  type: "RouteUpdate";
  /** Destination CIDR; the route's identity. */
  dst: string;
  types: RouteType[];
  /** Encapsulation of the longest-prefix enclosing pool; `none` outside every pool. */
  ipPoolType: IPPoolType;
  /** The enclosing pool has `natOutgoing`. */
  natOutgoing: boolean;
  /** The enclosing pool's `ipipMode`/`vxlanMode` is CrossSubnet. */
  crossSubnet: boolean;
  /**
   * The destination node's IP lies in this host's own subnet (from the Nodes' BGP addresses);
   * with `crossSubnet` it means "route directly, no encapsulation". Absent when unknown.
   */
  sameSubnet?: boolean;
  /** Node the destination lives on (block affinity, workload host, host IP owner). */
  dstNodeName?: string;
  /** That node's IP: the next hop for remote blocks. */
  dstNodeIp?: string;
  /** Local workload /32: the workload's interface. */
  localWorkloadInterface?: string;
  /** Drop traffic to this CIDR: a block affine to this host (unallocated addresses in it). */
  blackhole: boolean;
  /** A single address allocated from a block affine to another node. */
  borrowed: boolean;
}

export interface RouteRemove {
  type: "RouteRemove";
  dst: string;
}

export interface IPAMPool {
  cidr: string;
  masquerade: boolean;
  ipipMode: "Never" | "Always" | "CrossSubnet";
  vxlanMode: "Never" | "Always" | "CrossSubnet";
  disabled: boolean;
  allowedUses: string[];
}

export interface IPAMPoolUpdate {
  type: "IPAMPoolUpdate";
  /** The pool's CIDR with `/` replaced by `-` (Felix's pool key). */
  id: string;
  pool: IPAMPool;
}

export interface IPAMPoolRemove {
  type: "IPAMPoolRemove";
  id: string;
}

export interface HostMetadataUpdate {
  type: "HostMetadataUpdate";
  hostname: string;
  /** Node's BGP IPv4 address without prefix length, "" when unset. */
  ipv4Addr: string;
  ipv6Addr: string;
  asNumber: string;
  labels: Record<string, string>;
}

export interface HostMetadataRemove {
  type: "HostMetadataRemove";
  hostname: string;
}

/** Which encapsulations some pool uses; a change normally means a Felix restart. */
export interface Encapsulation {
  type: "Encapsulation";
  ipipEnabled: boolean;
  vxlanEnabled: boolean;
  vxlanEnabledV6: boolean;
}

export interface VXLANTunnelEndpointUpdate {
  type: "VXLANTunnelEndpointUpdate";
  node: string;
  mac: string;
  /** The node's VXLAN tunnel address. */
  ipv4Addr: string;
  /** The node's own IP, the VXLAN outer destination. */
  parentDeviceIp: string;
}

export interface VXLANTunnelEndpointRemove {
  type: "VXLANTunnelEndpointRemove";
  node: string;
}

// ---- config and sync ----

/**
 * Effective configuration after precedence (environment > config file > per-host datastore >
 * selector-scoped datastore > global datastore). Values are Felix's string encodings. Sent
 * with the first batch and whenever it changes.
 */
export interface ConfigUpdate {
  type: "ConfigUpdate";
  config: Record<string, string>;
  /** Per source, the raw values it supplied (for diagnostics and restart decisions). */
  sourceToRawConfig: Record<ConfigSource, Record<string, string>>;
}

export type ConfigSource =
  | "environment"
  | "configFile"
  | "datastorePerHost"
  | "datastoreSelector"
  | "datastoreGlobal";

/** ClusterInformation says the datastore is not ready (e.g. migration): Felix should restart. */
export interface DatastoreNotReady {
  type: "DatastoreNotReady";
}

/** Sent once, at the end of the first flush after the datastore first reported in-sync. */
export interface InSync {
  type: "InSync";
}

export type ToDataplane =
  | IPSetUpdate
  | IPSetDeltaUpdate
  | IPSetRemove
  | ActivePolicyUpdate
  | ActivePolicyRemove
  | ActiveProfileUpdate
  | ActiveProfileRemove
  | WorkloadEndpointUpdate
  | WorkloadEndpointRemove
  | HostEndpointUpdate
  | HostEndpointRemove
  | RouteUpdate
  | RouteRemove
  | IPAMPoolUpdate
  | IPAMPoolRemove
  | HostMetadataUpdate
  | HostMetadataRemove
  | Encapsulation
  | VXLANTunnelEndpointUpdate
  | VXLANTunnelEndpointRemove
  | ConfigUpdate
  | DatastoreNotReady
  | InSync;

const KIND_SHORT: Record<PolicyKind, string> = { GlobalNetworkPolicy: "gnp", NetworkPolicy: "np" };

/**
 * String identity of a policy: `gnp/<name>` or `np/<namespace>/<name>` — the form Felix uses in
 * chain names (`cali-pi-<key>`), so it is also safe to use as a map key.
 */
export function policyIdKey(id: Pick<PolicyID, "kind" | "namespace" | "name">): string {
  const short = KIND_SHORT[id.kind];
  return id.namespace ? `${short}/${id.namespace}/${id.name}` : `${short}/${id.name}`;
}

/** String identity of a workload endpoint. */
export function workloadEndpointIdKey(id: WorkloadEndpointID): string {
  return `${id.orchestratorId}/${id.workloadId}/${id.endpointId}`;
}
