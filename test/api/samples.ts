/** Valid sample resources of every kind, and small helpers shared by the api tests. */
import type { Resource, ValidationError } from "../../src/api/index.js";

export function resource(
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  meta: Record<string, unknown> = {},
): Resource {
  return { apiVersion: "projectcalico.org/v3", kind, metadata: { name, ...meta }, spec };
}

/** `field: reason` lines, for compact assertions. */
export function summary(errors: ValidationError[]): string[] {
  return errors.map((e) => `${e.field}: ${e.reason}`);
}

export const samples: Record<string, Resource> = {
  IPPool: resource("IPPool", "pool1", { cidr: "10.0.0.0/16", ipipMode: "CrossSubnet", natOutgoing: true }),
  IPReservation: resource("IPReservation", "r1", {
    reservedCIDRs: ["10.0.0.1", "10.1.0.0/24", "10.2.0.5/24"],
  }),
  IPAMConfiguration: resource("IPAMConfiguration", "default", { strictAffinity: true, maxBlocksPerHost: 4 }),
  BGPConfiguration: resource("BGPConfiguration", "default", {
    asNumber: "1.10",
    nodeToNodeMeshEnabled: true,
    serviceClusterIPs: [{ cidr: "10.96.0.0/12" }],
    communities: [{ name: "my-community", value: "64512:100" }],
    prefixAdvertisements: [{ cidr: "10.96.0.0/12", communities: ["my-community", "64512:200:300"] }],
    nodeMeshMaxRestartTime: "120s",
  }),
  BGPPeer: resource("BGPPeer", "peer1", { node: "node1", peerIP: "10.0.0.254:1790", asNumber: 64513 }),
  BGPFilter: resource("BGPFilter", "f1", {
    exportV4: [
      {
        action: "Accept",
        cidr: "10.0.0.0/8",
        matchOperator: "In",
        operations: [{ setPriority: { value: 5 } }],
      },
    ],
    importV6: [
      { action: "Reject", cidr: "fd00::/8", matchOperator: "Equal", prefixLength: { min: 16, max: 64 } },
    ],
  }),
  FelixConfiguration: resource("FelixConfiguration", "default", {
    logSeverityScreen: "Info",
    reportingInterval: "0s",
    failsafeInboundHostPorts: [{ protocol: "TCP", port: 22 }],
    kubeNodePortRanges: ["30000:32767"],
    routeTableRanges: [{ min: 1, max: 250 }],
    healthTimeoutOverrides: [{ name: "CalculationGraph", timeout: "60s" }],
  }),
  ClusterInformation: resource("ClusterInformation", "default", {
    clusterGUID: "0a1b2c3d4e5f",
    clusterType: "k8s,bgp",
    calicoVersion: "v3.31.0",
    datastoreReady: true,
  }),
  Node: resource("Node", "node1", {
    bgp: { ipv4Address: "10.0.0.5/24", asNumber: 64512 },
    addresses: [{ address: "10.0.0.5", type: "CalicoNodeIP" }],
    orchRefs: [{ nodeName: "node1", orchestrator: "k8s" }],
  }),
  HostEndpoint: resource("HostEndpoint", "node1-eth0", {
    node: "node1",
    interfaceName: "eth0",
    expectedIPs: ["10.0.0.5"],
    profiles: ["web"],
    ports: [{ name: "http", protocol: "TCP", port: 80 }],
  }),
  WorkloadEndpoint: resource(
    "WorkloadEndpoint",
    "node1-k8s-web--0-eth0",
    {
      orchestrator: "k8s",
      node: "node1",
      pod: "web-0",
      endpoint: "eth0",
      containerID: "1a2b3c",
      interfaceName: "cali0ab12cd34ef",
      ipNetworks: ["192.168.10.5/32"],
      profiles: ["kns.prod", "ksa.prod.default"],
      ports: [{ name: "http", protocol: "TCP", port: 8080 }],
      serviceAccountName: "default",
    },
    { namespace: "prod", labels: { app: "web" } },
  ),
  Profile: resource("Profile", "kns.prod", {
    ingress: [{ action: "Allow" }],
    egress: [{ action: "Allow" }],
    labelsToApply: { "pcns.projectcalico.org/name": "prod" },
  }),
  NetworkPolicy: resource(
    "NetworkPolicy",
    "allow-web",
    {
      selector: "app == 'web'",
      ingress: [{ action: "Allow", protocol: "TCP", destination: { ports: [80, "8000:8080", "http"] } }],
    },
    { namespace: "prod" },
  ),
  GlobalNetworkPolicy: resource("GlobalNetworkPolicy", "allow-dns", {
    order: 100.5,
    selector: "all()",
    egress: [
      { action: "Allow", protocol: "UDP", destination: { ports: [53], nets: ["10.96.0.10/32"] } },
      { action: "Allow", protocol: "ICMP", icmp: { type: 8, code: 0 } },
    ],
  }),
  StagedNetworkPolicy: resource(
    "StagedNetworkPolicy",
    "staged-web",
    { selector: "app == 'web'", ingress: [{ action: "Deny", source: { selector: "role == 'db'" } }] },
    { namespace: "prod" },
  ),
  StagedGlobalNetworkPolicy: resource("StagedGlobalNetworkPolicy", "staged-gnp", {
    egress: [{ action: "Deny", destination: { nets: ["0.0.0.0/0"] } }],
  }),
  StagedKubernetesNetworkPolicy: resource(
    "StagedKubernetesNetworkPolicy",
    "sknp",
    { podSelector: { matchLabels: { app: "web" } }, ingress: [{ ports: [{ port: 80 }] }] },
    { namespace: "prod" },
  ),
  NetworkSet: resource("NetworkSet", "ns1", { nets: ["10.1.0.0/16", "10.2.0.1"] }, { namespace: "prod" }),
  GlobalNetworkSet: resource(
    "GlobalNetworkSet",
    "gns1",
    { nets: ["198.51.100.0/24"] },
    { labels: { role: "ext" } },
  ),
  Tier: resource("Tier", "security", { order: 100, defaultAction: "Pass" }),
  KubeControllersConfiguration: resource("KubeControllersConfiguration", "default", {
    healthChecks: "Enabled",
    etcdV3CompactionPeriod: "10m",
    controllers: {
      node: { reconcilerPeriod: "5m", syncLabels: "Enabled" },
      policy: { reconcilerPeriod: "5m" },
    },
  }),
  CalicoNodeStatus: resource("CalicoNodeStatus", "node1-status", {
    node: "node1",
    classes: ["Agent", "BGP"],
    updatePeriodSeconds: 10,
  }),
};
