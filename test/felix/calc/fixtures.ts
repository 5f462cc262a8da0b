/** Resource builders for calc-graph tests: small v3 objects with only the fields a test sets. */
import type { Rule } from "../../../src/api/index.js";
import type { CalcUpdate } from "../../../src/felix/calc/index.js";

const API = "projectcalico.org/v3";

export interface WepOptions {
  ns?: string;
  node?: string;
  labels?: Record<string, string>;
  profiles?: string[];
  ips?: string[];
  iface?: string;
  ports?: { name: string; protocol: string; port: number }[];
  serviceAccount?: string;
}

export function wep(name: string, o: WepOptions = {}): CalcUpdate {
  const ns = o.ns ?? "default";
  const node = o.node ?? "host1";
  return {
    kind: "WorkloadEndpoint",
    key: `/calico/resources/v3/projectcalico.org/workloadendpoints/${ns}/${node}-k8s-${name}-eth0`,
    value: {
      apiVersion: API,
      kind: "WorkloadEndpoint",
      metadata: { name: `${node}-k8s-${name}-eth0`, namespace: ns, labels: o.labels ?? {} },
      spec: {
        orchestrator: "k8s",
        node,
        pod: name,
        endpoint: "eth0",
        interfaceName: o.iface ?? `cali${name}`.slice(0, 15),
        ipNetworks: o.ips ?? ["10.0.0.1/32"],
        profiles: o.profiles ?? [],
        ...(o.ports ? { ports: o.ports } : {}),
        ...(o.serviceAccount ? { serviceAccountName: o.serviceAccount } : {}),
        mac: "ee:ee:ee:ee:ee:ee",
      },
    },
  };
}

export function hep(
  name: string,
  o: {
    node?: string;
    iface?: string;
    ips?: string[];
    labels?: Record<string, string>;
    profiles?: string[];
  } = {},
): CalcUpdate {
  return {
    kind: "HostEndpoint",
    key: `/calico/resources/v3/projectcalico.org/hostendpoints/${name}`,
    value: {
      apiVersion: API,
      kind: "HostEndpoint",
      metadata: { name, labels: o.labels ?? {} },
      spec: {
        node: o.node ?? "host1",
        interfaceName: o.iface ?? "eth0",
        expectedIPs: o.ips ?? [],
        profiles: o.profiles ?? [],
      },
    },
  };
}

export interface PolicyOptions {
  selector?: string;
  order?: number;
  tier?: string;
  ingress?: Rule[];
  egress?: Rule[];
  types?: ("Ingress" | "Egress")[];
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
  namespaceSelector?: string;
  serviceAccountSelector?: string;
  performanceHints?: string[];
}

function policySpec(o: PolicyOptions): Record<string, unknown> {
  const spec: Record<string, unknown> = { tier: o.tier ?? "default", selector: o.selector ?? "all()" };
  for (const k of [
    "order",
    "ingress",
    "egress",
    "types",
    "doNotTrack",
    "preDNAT",
    "applyOnForward",
    "namespaceSelector",
    "serviceAccountSelector",
    "performanceHints",
  ] as const) {
    if (o[k] !== undefined) spec[k] = o[k];
  }
  return spec;
}

export function np(name: string, ns: string, o: PolicyOptions = {}): CalcUpdate {
  return {
    kind: "NetworkPolicy",
    key: `/calico/resources/v3/projectcalico.org/networkpolicies/${ns}/${name}`,
    value: { apiVersion: API, kind: "NetworkPolicy", metadata: { name, namespace: ns }, spec: policySpec(o) },
  };
}

export function gnp(name: string, o: PolicyOptions = {}): CalcUpdate {
  return {
    kind: "GlobalNetworkPolicy",
    key: `/calico/resources/v3/projectcalico.org/globalnetworkpolicies/${name}`,
    value: { apiVersion: API, kind: "GlobalNetworkPolicy", metadata: { name }, spec: policySpec(o) },
  };
}

export function stagedNp(name: string, ns: string, o: PolicyOptions = {}): CalcUpdate {
  return {
    kind: "StagedNetworkPolicy",
    key: `/calico/resources/v3/projectcalico.org/stagednetworkpolicies/${ns}/${name}`,
    value: {
      apiVersion: API,
      kind: "StagedNetworkPolicy",
      metadata: { name, namespace: ns },
      spec: policySpec(o),
    },
  };
}

export function stagedGnp(name: string, o: PolicyOptions & { stagedAction?: string } = {}): CalcUpdate {
  const spec = { ...policySpec(o), ...(o.stagedAction ? { stagedAction: o.stagedAction } : {}) };
  return {
    kind: "StagedGlobalNetworkPolicy",
    key: `/calico/resources/v3/projectcalico.org/stagedglobalnetworkpolicies/${name}`,
    value: { apiVersion: API, kind: "StagedGlobalNetworkPolicy", metadata: { name }, spec },
  };
}

/** A StagedKubernetesNetworkPolicy selecting every pod in `ns` and denying all ingress. */
export function stagedKnp(name: string, ns: string): CalcUpdate {
  return {
    kind: "StagedKubernetesNetworkPolicy",
    key: `/calico/resources/v3/projectcalico.org/stagedkubernetesnetworkpolicies/${ns}/${name}`,
    value: {
      apiVersion: API,
      kind: "StagedKubernetesNetworkPolicy",
      metadata: { name, namespace: ns },
      spec: { stagedAction: "Set", podSelector: {}, policyTypes: ["Ingress"] },
    },
  };
}

export function profile(
  name: string,
  o: { ingress?: Rule[]; egress?: Rule[]; labels?: Record<string, string> } = {},
): CalcUpdate {
  return {
    kind: "Profile",
    key: `/calico/resources/v3/projectcalico.org/profiles/${name}`,
    value: {
      apiVersion: API,
      kind: "Profile",
      metadata: { name },
      spec: {
        ...(o.ingress ? { ingress: o.ingress } : {}),
        ...(o.egress ? { egress: o.egress } : {}),
        ...(o.labels ? { labelsToApply: o.labels } : {}),
      },
    },
  };
}

export function tier(name: string, order?: number, defaultAction?: "Deny" | "Pass"): CalcUpdate {
  return {
    kind: "Tier",
    key: `/calico/resources/v3/projectcalico.org/tiers/${name}`,
    value: {
      apiVersion: API,
      kind: "Tier",
      metadata: { name },
      spec: { ...(order !== undefined ? { order } : {}), ...(defaultAction ? { defaultAction } : {}) },
    },
  };
}

export function networkSet(
  name: string,
  ns: string,
  nets: string[],
  labels: Record<string, string> = {},
): CalcUpdate {
  return {
    kind: "NetworkSet",
    key: `/calico/resources/v3/projectcalico.org/networksets/${ns}/${name}`,
    value: { apiVersion: API, kind: "NetworkSet", metadata: { name, namespace: ns, labels }, spec: { nets } },
  };
}

export function globalNetworkSet(
  name: string,
  nets: string[],
  labels: Record<string, string> = {},
): CalcUpdate {
  return {
    kind: "GlobalNetworkSet",
    key: `/calico/resources/v3/projectcalico.org/globalnetworksets/${name}`,
    value: { apiVersion: API, kind: "GlobalNetworkSet", metadata: { name, labels }, spec: { nets } },
  };
}

export function pool(name: string, cidr: string, o: Record<string, unknown> = {}): CalcUpdate {
  return {
    kind: "IPPool",
    key: `/calico/resources/v3/projectcalico.org/ippools/${name}`,
    value: { apiVersion: API, kind: "IPPool", metadata: { name }, spec: { cidr, ...o } },
  };
}

export function node(name: string, ipv4: string, o: Record<string, unknown> = {}, labels = {}): CalcUpdate {
  return {
    kind: "Node",
    key: `/calico/resources/v3/projectcalico.org/nodes/${name}`,
    value: {
      apiVersion: API,
      kind: "Node",
      metadata: { name, labels },
      spec: { bgp: { ipv4Address: ipv4 }, ...o },
    },
  };
}

export function block(
  cidr: string,
  affinityNode: string | undefined,
  allocations: (string | null)[] = [],
): CalcUpdate {
  // Each allocated ordinal gets its own attribute naming the owning node.
  const attributes = allocations.filter((n) => n !== null).map((n) => ({ secondary: { node: n } }));
  let next = 0;
  return {
    kind: "IPAMBlock",
    key: `/calico/ipam/v2/assignment/ipv4/block/${cidr.replace("/", "-")}`,
    value: {
      cidr,
      affinity: affinityNode ? `host:${affinityNode}` : null,
      allocations: allocations.map((n) => (n === null ? null : next++)),
      unallocated: [],
      attributes,
      sequenceNumber: 1,
      deleted: false,
    },
  };
}

export function felixConfig(
  name: string,
  spec: Record<string, unknown>,
  meta: Record<string, unknown> = {},
): CalcUpdate {
  return {
    kind: "FelixConfiguration",
    key: `/calico/resources/v3/projectcalico.org/felixconfigurations/${name}`,
    value: { apiVersion: API, kind: "FelixConfiguration", metadata: { name, ...meta }, spec },
  };
}

export function deleted(u: CalcUpdate): CalcUpdate {
  return { kind: u.kind, key: u.key, value: null };
}
