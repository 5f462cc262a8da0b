import { describe, expect, it } from "vitest";
import { applyDefaults, validate } from "../../src/api/index.js";
import { resource, summary } from "./samples.js";

const check = (kind: string, name: string, spec: Record<string, unknown>) =>
  summary(validate(applyDefaults(resource(kind, name, spec))));

describe("validate: BGPConfiguration", () => {
  it("allows some fields only on the default object", () => {
    expect(
      check("BGPConfiguration", "node.node1", {
        nodeToNodeMeshEnabled: false,
        asNumber: 64512,
        serviceClusterIPs: [{ cidr: "10.96.0.0/12" }],
        serviceExternalIPs: [],
        listenPort: 1179,
      }),
    ).toEqual([
      "spec.nodeToNodeMeshEnabled: Cannot set nodeToNodeMeshEnabled on a non default BGP Configuration.",
      "spec.asNumber: Cannot set ASNumber on a non default BGP Configuration.",
      "spec.serviceClusterIPs: Cannot set ServiceClusterIPs on a non default BGP Configuration.",
    ]);
  });

  it("ties mesh settings to the mesh being enabled", () => {
    expect(
      check("BGPConfiguration", "default", {
        nodeToNodeMeshEnabled: false,
        nodeMeshPassword: { secretKeyRef: { name: "s", key: "k" } },
        nodeMeshMaxRestartTime: "2m",
      }),
    ).toEqual([
      "spec.nodeMeshPassword: nodeMeshPassword cannot be set when nodeToNodeMeshEnabled is false",
      "spec.nodeMeshMaxRestartTime: nodeMeshMaxRestartTime cannot be set when nodeToNodeMeshEnabled is false",
    ]);
  });

  it("checks communities and prefix advertisements", () => {
    expect(check("BGPConfiguration", "default", { communities: [{ name: "c", value: "1:2" }] })).toEqual([
      "spec.communities: communities are defined but not used in prefixAdvertisements",
    ]);
    expect(
      check("BGPConfiguration", "default", {
        communities: [
          { name: "big", value: "70000:1" },
          { name: "bad", value: "1-2" },
        ],
        prefixAdvertisements: [{ cidr: "10.0.0.0/8", communities: ["big", "undefined-name", "1:2:3"] }],
      }),
    ).toEqual([
      "spec.communities[0].value: invalid community value, expected 16 bit value",
      "spec.communities[1].value: invalid community value or format used.",
      "spec.prefixAdvertisements[0].communities[1]: community used is invalid or not defined.",
    ]);
    expect(
      check("BGPConfiguration", "default", { prefixAdvertisements: [{ cidr: "x", communities: ["1:1"] }] }),
    ).toEqual(["spec.prefixAdvertisements[0].cidr: invalid CIDR value."]);
  });

  it("checks enums and service CIDRs", () => {
    expect(
      check("BGPConfiguration", "default", {
        logSeverityScreen: "debug",
        bindMode: "All",
        serviceLoadBalancerIPs: [{ cidr: "10.0.0.1/8" }],
      }),
    ).toEqual([
      "spec.serviceLoadBalancerIPs[0].cidr: CIDR is not strictly masked",
      'spec.bindMode: supported values: "None", "NodeIP"',
    ]);
    expect(check("BGPConfiguration", "default", { ignoredInterfaces: ["*", "eth*"] })).toEqual([
      "spec.ignoredInterfaces[0]: invalid interface name",
    ]);
  });
});

describe("validate: BGPPeer", () => {
  it("enforces the field exclusions", () => {
    expect(
      check("BGPPeer", "p", {
        node: "n1",
        nodeSelector: "all()",
        peerIP: "10.0.0.1",
        peerSelector: "rr == 'true'",
      }),
    ).toEqual([
      "spec.nodeSelector: node and nodeSelector cannot both be set",
      "spec.peerSelector: peerIP and peerSelector cannot both be set",
    ]);
    expect(check("BGPPeer", "p", { peerSelector: "all()", asNumber: 64512 })).toEqual([
      "spec.asNumber: asNumber must be empty when peerSelector is set",
    ]);
    expect(
      check("BGPPeer", "p", {
        localWorkloadSelector: "app == 'bgp'",
        peerIP: "10.0.0.1",
        peerSelector: "x == 'y'",
      }),
    ).toEqual([
      "spec.peerSelector: peerIP and peerSelector cannot both be set",
      "spec.peerIP: peerIP must be empty when localWorkloadSelector is set",
      "spec.peerSelector: peerSelector must be empty when localWorkloadSelector is set",
      "spec.asNumber: asNumber is required when localWorkloadSelector is set",
    ]);
    expect(
      check("BGPPeer", "p", { reachableBy: "10.0.0.1", keepOriginalNextHop: true, nextHopMode: "Self" }),
    ).toEqual([
      "spec.reachableBy: reachableBy must be empty when peerIP is empty",
      "spec.nextHopMode: keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode instead",
    ]);
  });

  it("checks peer addresses", () => {
    expect(check("BGPPeer", "p", { peerIP: "[fd00::1]:179", asNumber: "1.1" })).toEqual([]);
    expect(check("BGPPeer", "p", { peerIP: "10.0.0.1:0" })).toEqual([
      "spec.peerIP: must be <IP>, <IPv4>:<port> or [<IPv6>]:<port>",
    ]);
    expect(check("BGPPeer", "p", { peerIP: "10.0.0.1", reachableBy: "fd00::1" })).toEqual([
      "spec.reachableBy: ReachableBy and PeerIP address family mismatched",
    ]);
    expect(check("BGPPeer", "p", { asNumber: "1.x" })).toEqual([
      "spec.asNumber: invalid AS Number format (1.x)",
    ]);
  });
});

describe("validate: BGPFilter", () => {
  it("checks rule combinations", () => {
    expect(
      check("BGPFilter", "f", {
        exportV4: [
          { action: "Reject", cidr: "10.0.0.0/8", operations: [{ setPriority: { value: 1 } }] },
          { action: "Accept", prefixLength: { min: 8 } },
          { action: "Accept", cidr: "fd00::/8", matchOperator: "In" },
        ],
      }),
    ).toEqual([
      "spec.exportV4[2].cidr: invalid IPv4 CIDR",
      "spec.exportV4[0]: cidr and matchOperator must both be set or both be empty",
      "spec.exportV4[0].operations: operations may only be used with action Accept",
      "spec.exportV4[1].prefixLength: cidr is required when prefixLength is set",
    ]);
  });

  it("checks operations and community values", () => {
    expect(
      check("BGPFilter", "f", {
        importV6: [
          {
            action: "Accept",
            communities: { values: ["65536:1"] },
            operations: [
              { addCommunity: { value: "1:2" }, setPriority: { value: 3 } },
              { prependASPath: { prefix: [] } },
            ],
          },
        ],
      }),
    ).toEqual([
      "spec.importV6[0].operations[1].prependASPath.prefix: Required value",
      "spec.importV6[0].communities.values[0]: invalid BGP community value (expected aa:nn or aa:nn:mm)",
      "spec.importV6[0].operations[0]: exactly one of addCommunity, prependASPath or setPriority must be set",
    ]);
  });
});

describe("validate: FelixConfiguration", () => {
  it("forbids nodeSelector on default and per-node objects", () => {
    const reason =
      "spec.nodeSelector: nodeSelector must not be set on the 'default' or per-node ('node.*') FelixConfiguration";
    expect(check("FelixConfiguration", "default", { nodeSelector: "all()" })).toEqual([reason]);
    expect(check("FelixConfiguration", "node.n1", { nodeSelector: "" })).toEqual([reason]);
    expect(check("FelixConfiguration", "gpu-nodes", { nodeSelector: "gpu == 'true'" })).toEqual([]);
    expect(check("FelixConfiguration", "gpu-nodes", { nodeSelector: "gpu ==" })[0]).toMatch(
      /invalid selector/,
    );
  });

  it("checks enums, including the case-insensitive ones", () => {
    expect(
      check("FelixConfiguration", "default", { chainInsertMode: "append", iptablesBackend: "nft" }),
    ).toEqual([]);
    expect(
      check("FelixConfiguration", "default", {
        chainInsertMode: "Prepend",
        nftablesMode: "auto",
        bpfLogLevel: "Loud",
      }),
    ).toEqual([
      'spec.chainInsertMode: supported values: "Insert", "Append"',
      'spec.nftablesMode: supported values: "Disabled", "Enabled", "Auto"',
      "spec.bpfLogLevel: should match '^(off|info|debug)?$'",
    ]);
  });

  it("checks route table ranges", () => {
    expect(check("FelixConfiguration", "default", { routeTableRange: { min: 1, max: 251 } })).toEqual([
      "spec.routeTableRange: must be a range of route table indices within 1..250",
    ]);
    expect(
      check("FelixConfiguration", "default", {
        routeTableRange: { min: 1, max: 2 },
        routeTableRanges: [
          { min: 0, max: 5 },
          { min: 9, max: 8 },
          { min: 10, max: 70000 },
        ],
      }),
    ).toEqual([
      "spec.routeTableRanges: routeTableRange and routeTableRanges cannot both be set",
      "spec.routeTableRanges[0]: cannot target indices < 1",
      "spec.routeTableRanges[1]: min value cannot be greater than max value",
      "spec.routeTableRanges: targets too many tables",
    ]);
  });

  it("checks failsafe ports, node port ranges and addresses", () => {
    expect(
      check("FelixConfiguration", "default", {
        failsafeInboundHostPorts: [
          { protocol: "TCP", port: 22 },
          { protocol: "tcp", port: 23 },
          { port: 24 },
        ],
        kubeNodePortRanges: ["30000:32767", "http", 1, 2, 3, 4, 5, 6],
        natOutgoingAddress: "fd00::1",
        deviceRouteSourceAddressIPv6: "10.0.0.1",
        externalNodesList: ["10.0.0.0/8", "fd00::/8", "x"],
        openstackRegion: "Region_1",
      }),
    ).toEqual([
      "spec.natOutgoingAddress: natOutgoingAddress must be a valid IPv4 address",
      "spec.deviceRouteSourceAddressIPv6: deviceRouteSourceAddressIPv6 must be a valid IPv6 address",
      "spec.externalNodesList[1]: has invalid IPv6 CIDR",
      "spec.externalNodesList[2]: has invalid CIDR(s)",
      "spec.failsafeInboundHostPorts[1].protocol: protocol must be 'TCP' or 'UDP' or 'SCTP'.",
      "spec.failsafeInboundHostPorts[2].protocol: protocol must be 'TCP' or 'UDP' or 'SCTP'.",
      "spec.kubeNodePortRanges: node port ranges list is too long (max 7)",
      "spec.kubeNodePortRanges: node port ranges should not contain named ports",
      "spec.openstackRegion: must be a valid DNS label",
    ]);
  });

  it("checks durations, health overrides and ranges", () => {
    expect(
      check("FelixConfiguration", "default", {
        reportingInterval: "30",
        healthTimeoutOverrides: [{ name: "Bad/Name", timeout: "-5s" }],
        wireguardListeningPort: 0,
        featureGates: "a=b,,c",
      }),
    ).toEqual([
      "spec.featureGates: must be a comma-separated list of key=value pairs",
      'spec.reportingInterval: time: invalid duration "30"',
      "spec.wireguardListeningPort: should be greater than or equal to 1",
      "spec.healthTimeoutOverrides[0].name: name should match regex ^[a-zA-Z0-9_ -]+$",
      "spec.healthTimeoutOverrides[0].timeout: Timeout should not be negative",
    ]);
  });
});
