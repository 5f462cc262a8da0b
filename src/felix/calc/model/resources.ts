/**
 * v3 resources → Felix's model, one function per kind (Calico's update processors). Each either
 * returns the model value, returns null when Calico filters the object out (e.g. a workload
 * endpoint without addresses), or throws `ModelConversionError` for a malformed value — which
 * the graph treats as a deletion, like Felix's validation filter.
 */
import {
  type GlobalNetworkPolicy,
  type GlobalNetworkSet,
  type HostEndpoint,
  type IPPool,
  LABEL_NAMESPACE,
  LABEL_ORCHESTRATOR,
  type NetworkPolicy,
  type NetworkSet,
  type Node,
  type Profile,
  type Tier,
  type WorkloadEndpoint,
} from "../../../api/index.js";
import { canonicalCIDR, formatCIDR, formatIP, parseCIDR, parseIP } from "../../../lib/net.js";
import { parseSelector } from "../../../selector/index.js";
import { canonicalNets, ModelConversionError, toModelRules } from "./rules.js";
import {
  globalNetworkPolicySelector,
  LABEL_SERVICE_ACCOUNT,
  NAMESPACE_LABEL_PREFIX,
  NAMESPACE_PROFILE_PREFIX,
  networkPolicySelector,
  SERVICE_ACCOUNT_LABEL_PREFIX,
} from "./selectors.js";
import type {
  EncapMode,
  ModelEndpointPort,
  ModelHostEndpoint,
  ModelNetworkSet,
  ModelNode,
  ModelPolicy,
  ModelPool,
  ModelProfile,
  ModelTier,
  ModelWorkloadEndpoint,
} from "./types.js";

function name(res: { metadata?: { name?: string } }): string {
  const n = res.metadata?.name;
  if (typeof n !== "string" || n === "") throw new ModelConversionError("resource has no name");
  return n;
}

function namespace(res: { metadata?: { namespace?: string } }): string {
  const ns = res.metadata?.namespace;
  if (typeof ns !== "string" || ns === "") throw new ModelConversionError("resource has no namespace");
  return ns;
}

/** Rejects selectors that do not parse, so nothing downstream has to. */
function checkedSelector(text: string): string {
  try {
    parseSelector(text);
  } catch (err) {
    throw new ModelConversionError(`invalid selector ${JSON.stringify(text)}: ${(err as Error).message}`);
  }
  return text;
}

function directions(types: string[] | undefined): { ingress: boolean; egress: boolean } {
  if (!types || types.length === 0) return { ingress: true, egress: true };
  return { ingress: types.includes("Ingress"), egress: types.includes("Egress") };
}

function checkRuleSelectors(policy: ModelPolicy | ModelProfile): void {
  for (const r of [...policy.inbound, ...policy.outbound]) {
    for (const side of [r.src, r.dst]) {
      if (side.selector) checkedSelector(side.selector);
      if (side.notSelector) checkedSelector(side.notSelector);
    }
  }
}

export function networkPolicyToModel(res: NetworkPolicy): ModelPolicy {
  const ns = namespace(res);
  const spec = res.spec ?? {};
  const policy: ModelPolicy = {
    id: { kind: "NetworkPolicy", namespace: ns, name: name(res), tier: spec.tier || "default" },
    selector: checkedSelector(networkPolicySelector(ns, spec.selector, spec.serviceAccountSelector)),
    inbound: toModelRules(spec.ingress, ns),
    outbound: toModelRules(spec.egress, ns),
    ...directions(spec.types),
    doNotTrack: false,
    preDNAT: false,
    applyOnForward: true,
    performanceHints: [...(spec.performanceHints ?? [])],
  };
  if (typeof spec.order === "number") policy.order = spec.order;
  checkRuleSelectors(policy);
  return policy;
}

export function globalNetworkPolicyToModel(res: GlobalNetworkPolicy): ModelPolicy {
  const spec = res.spec ?? {};
  const policy: ModelPolicy = {
    id: { kind: "GlobalNetworkPolicy", namespace: "", name: name(res), tier: spec.tier || "default" },
    selector: checkedSelector(
      globalNetworkPolicySelector(spec.selector, spec.namespaceSelector, spec.serviceAccountSelector),
    ),
    inbound: toModelRules(spec.ingress, ""),
    outbound: toModelRules(spec.egress, ""),
    ...directions(spec.types),
    doNotTrack: spec.doNotTrack ?? false,
    preDNAT: spec.preDNAT ?? false,
    applyOnForward: spec.applyOnForward ?? false,
    performanceHints: [...(spec.performanceHints ?? [])],
  };
  if (typeof spec.order === "number") policy.order = spec.order;
  checkRuleSelectors(policy);
  return policy;
}

export function profileToModel(res: Profile): ModelProfile {
  const spec = res.spec ?? {};
  const profile: ModelProfile = {
    name: name(res),
    inbound: toModelRules(spec.ingress, ""),
    outbound: toModelRules(spec.egress, ""),
    labels: { ...(spec.labelsToApply ?? {}) },
  };
  checkRuleSelectors(profile);
  return profile;
}

export function tierToModel(res: Tier): ModelTier {
  const spec = res.spec ?? {};
  const tier: ModelTier = { name: name(res), defaultAction: spec.defaultAction === "Pass" ? "pass" : "deny" };
  if (typeof spec.order === "number") tier.order = spec.order;
  return tier;
}

const PORT_PROTOCOLS: Record<string, string> = {
  tcp: "tcp",
  udp: "udp",
  sctp: "sctp",
  "6": "tcp",
  "17": "udp",
  "132": "sctp",
};

function endpointPorts(
  ports: { name?: string; protocol?: string | number; port: number }[] | undefined,
): ModelEndpointPort[] {
  const out: ModelEndpointPort[] = [];
  for (const p of ports ?? []) {
    // Unnamed ports exist for the CNI plugin's benefit only; Felix has no use for them.
    if (!p.name) continue;
    const protocol = PORT_PROTOCOLS[String(p.protocol ?? "TCP").toLowerCase()];
    if (!protocol) throw new ModelConversionError(`unsupported endpoint port protocol ${String(p.protocol)}`);
    out.push({ name: p.name, protocol, port: p.port });
  }
  return out;
}

function splitByFamily(addrs: string[], keepPrefix: boolean): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const a of addrs) {
    const c = parseCIDR(a, { allowBareIP: true });
    if (!c) throw new ModelConversionError(`invalid address ${JSON.stringify(a)}`);
    const text = keepPrefix ? formatCIDR(c) : formatIP({ family: c.family, value: c.address });
    (c.family === 4 ? v4 : v6).push(text);
  }
  return { v4, v6 };
}

export function workloadEndpointToModel(res: WorkloadEndpoint): ModelWorkloadEndpoint | null {
  const spec = res.spec ?? {};
  // Calico holds back endpoints without addresses: their rules could not be rendered yet.
  if (!spec.ipNetworks || spec.ipNetworks.length === 0) return null;
  const ns = namespace(res);
  const nets = splitByFamily(spec.ipNetworks, true);
  const labels: Record<string, string> = {};
  // An endpoint must not claim another namespace's or service account's inherited labels.
  for (const [k, v] of Object.entries(res.metadata.labels ?? {})) {
    if (!k.startsWith(NAMESPACE_LABEL_PREFIX) && !k.startsWith(SERVICE_ACCOUNT_LABEL_PREFIX)) labels[k] = v;
  }
  labels[LABEL_NAMESPACE] = ns;
  if (spec.orchestrator) labels[LABEL_ORCHESTRATOR] = spec.orchestrator;
  if (spec.serviceAccountName) labels[LABEL_SERVICE_ACCOUNT] = spec.serviceAccountName;

  const ipv4Nat: { extIp: string; intIp: string }[] = [];
  const ipv6Nat: { extIp: string; intIp: string }[] = [];
  for (const nat of spec.ipNATs ?? []) {
    const int = parseIP(nat.internalIP);
    const ext = parseIP(nat.externalIP);
    if (!int || !ext) continue;
    (int.family === 4 ? ipv4Nat : ipv6Nat).push({ extIp: formatIP(ext), intIp: formatIP(int) });
  }

  const endpoint: ModelWorkloadEndpoint = {
    kind: "wep",
    id: {
      orchestratorId: spec.orchestrator ?? "",
      workloadId: `${ns}/${spec.workload || spec.pod || ""}`,
      endpointId: spec.endpoint ?? "",
    },
    hostname: spec.node ?? "",
    iface: spec.interfaceName ?? "",
    profileIds: [...(spec.profiles ?? [])],
    ipv4Nets: nets.v4,
    ipv6Nets: nets.v6,
    ipv4Nat,
    ipv6Nat,
    labels,
    ports: endpointPorts(spec.ports),
    allowSpoofedSourcePrefixes: (spec.allowSpoofedSourcePrefixes ?? []).map((p) => {
      const c = canonicalCIDR(p);
      if (!c) throw new ModelConversionError(`invalid prefix ${JSON.stringify(p)}`);
      return c;
    }),
  };
  if (spec.mac) endpoint.mac = spec.mac.toLowerCase();
  const annotations = res.metadata.annotations;
  if (annotations && Object.keys(annotations).length > 0) endpoint.annotations = { ...annotations };
  if (spec.qosControls) endpoint.qosControls = { ...spec.qosControls };
  return endpoint;
}

export function hostEndpointToModel(res: HostEndpoint): ModelHostEndpoint {
  const spec = res.spec ?? {};
  const ips = splitByFamily(spec.expectedIPs ?? [], false);
  return {
    kind: "hep",
    endpointId: name(res),
    hostname: spec.node ?? "",
    iface: spec.interfaceName ?? "",
    expectedIpv4: ips.v4,
    expectedIpv6: ips.v6,
    profileIds: [...(spec.profiles ?? [])],
    labels: { ...(res.metadata.labels ?? {}) },
    ports: endpointPorts(spec.ports),
  };
}

/** Namespaced sets carry their namespace as a label and inherit the namespace's labels. */
export function networkSetToModel(res: NetworkSet): ModelNetworkSet {
  const ns = namespace(res);
  return {
    kind: "netset",
    nets: canonicalNets(res.spec?.nets),
    labels: { ...(res.metadata.labels ?? {}), [LABEL_NAMESPACE]: ns },
    profileIds: [`${NAMESPACE_PROFILE_PREFIX}${ns}`],
  };
}

export function globalNetworkSetToModel(res: GlobalNetworkSet): ModelNetworkSet {
  return {
    kind: "netset",
    nets: canonicalNets(res.spec?.nets),
    labels: { ...(res.metadata.labels ?? {}) },
    profileIds: [],
  };
}

function encapMode(mode: string | undefined): EncapMode {
  return mode === "Always" || mode === "CrossSubnet" ? mode : "Never";
}

export function ipPoolToModel(res: IPPool): ModelPool {
  const spec = res.spec;
  const cidr = spec && canonicalCIDR(spec.cidr);
  if (!spec || !cidr) throw new ModelConversionError("IP pool without a valid CIDR");
  return {
    cidr,
    natOutgoing: spec.natOutgoing ?? false,
    ipipMode: encapMode(spec.ipipMode),
    vxlanMode: encapMode(spec.vxlanMode),
    disabled: spec.disabled ?? false,
    allowedUses: [...(spec.allowedUses ?? ["Workload", "Tunnel"])],
  };
}

function hostAddress(withPrefix: string | undefined): { ip: string; subnet?: string } {
  if (!withPrefix) return { ip: "" };
  const c = parseCIDR(withPrefix, { allowBareIP: true });
  if (!c) throw new ModelConversionError(`invalid node address ${JSON.stringify(withPrefix)}`);
  return { ip: formatIP({ family: c.family, value: c.address }), subnet: formatCIDR(c) };
}

export function nodeToModel(res: Node): ModelNode {
  const spec = res.spec ?? {};
  const v4 = hostAddress(spec.bgp?.ipv4Address);
  const v6 = hostAddress(spec.bgp?.ipv6Address);
  const node: ModelNode = {
    name: name(res),
    ipv4: v4.ip,
    ipv6: v6.ip,
    asNumber: spec.bgp?.asNumber === undefined ? "" : String(spec.bgp.asNumber),
    labels: { ...(res.metadata.labels ?? {}) },
  };
  if (v4.subnet) node.ipv4Subnet = v4.subnet;
  if (spec.ipv4VXLANTunnelAddr) node.ipv4VxlanTunnelAddr = spec.ipv4VXLANTunnelAddr;
  if (spec.vxlanTunnelMACAddr) node.vxlanTunnelMac = spec.vxlanTunnelMACAddr;
  if (spec.bgp?.ipv4IPIPTunnelAddr) node.ipv4IpipTunnelAddr = spec.bgp.ipv4IPIPTunnelAddr;
  if (spec.ipv6VXLANTunnelAddr) node.ipv6VxlanTunnelAddr = spec.ipv6VXLANTunnelAddr;
  if (spec.vxlanTunnelMACAddrV6) node.vxlanTunnelMacV6 = spec.vxlanTunnelMACAddrV6;
  return node;
}
