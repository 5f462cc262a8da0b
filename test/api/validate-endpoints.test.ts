import { describe, expect, it } from "vitest";
import {
  applyDefaults,
  formatValidationErrors,
  validate,
  WorkloadEndpointNameError,
  workloadEndpointName,
  workloadEndpointNameErrors,
} from "../../src/api/index.js";
import { resource, samples, summary } from "./samples.js";

const check = (
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  meta: Record<string, unknown> = {},
) => summary(validate(applyDefaults(resource(kind, name, spec, meta))));

describe("workloadEndpointName", () => {
  it("joins the orchestrator's segments, doubling dashes inside them", () => {
    expect(
      workloadEndpointName({ node: "node1", orchestrator: "k8s", pod: "my-pod", endpoint: "eth0" }),
    ).toBe("node1-k8s-my--pod-eth0");
    expect(
      workloadEndpointName({ node: "n", orchestrator: "cni", containerID: "abc-1", endpoint: "eth0" }),
    ).toBe("n-cni-abc--1-eth0");
    expect(workloadEndpointName({ node: "n", orchestrator: "libnetwork", endpoint: "ep" })).toBe(
      "n-libnetwork-libnetwork-ep",
    );
    expect(
      workloadEndpointName({ node: "n", orchestrator: "openstack", workload: "vm-1", endpoint: "tap-a" }),
    ).toBe("n-openstack-vm--1-tap--a");
  });

  it("refuses missing identifiers and ones that start or end with a dash", () => {
    expect(() => workloadEndpointName({ orchestrator: "k8s", pod: "p", endpoint: "e" })).toThrow(
      WorkloadEndpointNameError,
    );
    try {
      workloadEndpointName({ node: "n", orchestrator: "k8s", pod: "-p", endpoint: "e" });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ field: "pod", value: "-p", reason: "field must not begin with a '-'" });
    }
    expect(() => workloadEndpointName({ node: "n-", orchestrator: "k8s", pod: "p", endpoint: "e" })).toThrow(
      "field must not end with a '-'",
    );
  });
});

describe("validate: WorkloadEndpoint", () => {
  const wep = samples.WorkloadEndpoint!;

  it("leaves the name and identifiers to the client (workloadEndpointNameErrors)", () => {
    const renamed = { ...wep, metadata: { ...wep.metadata, name: "node1-k8s-web-0-eth0" } };
    expect(validate(applyDefaults(renamed))).toEqual([]);
    expect(formatValidationErrors(workloadEndpointNameErrors(renamed.metadata.name, wep.spec!))).toBe(
      "error with field metadata.name = 'node1-k8s-web-0-eth0' (the WorkloadEndpoint name does not match the primary identifiers assigned in the Spec: expected name node1-k8s-web--0-eth0)",
    );
    expect(workloadEndpointNameErrors(wep.metadata.name, wep.spec!)).toEqual([]);
    expect(workloadEndpointNameErrors(undefined, wep.spec!)).toEqual([]);
    expect(check("WorkloadEndpoint", "", { interfaceName: "cali1" }, { namespace: "x" })).toEqual([]);
    expect(
      summary(workloadEndpointNameErrors("", { orchestrator: "k8s", node: "n", endpoint: "eth0" })),
    ).toEqual(["spec.pod: field should be assigned"]);
  });

  it("checks addresses, NATs, ports and the interface", () => {
    const spec = {
      orchestrator: "k8s",
      node: "n",
      pod: "p",
      endpoint: "eth0",
      ipNetworks: ["10.0.0.0/24", "bogus"],
      ipNATs: [{ internalIP: "10.9.9.9", externalIP: "fd00::1" }],
      ports: [
        { name: "", protocol: "TCP", port: 80 },
        { name: "dns", protocol: "ICMP", port: 53 },
        { name: "", protocol: "TCP", port: 81, hostPort: 8081 },
      ],
      mac: "zz:zz",
    };
    expect(check("WorkloadEndpoint", "n-k8s-p-eth0", spec, { namespace: "x" })).toEqual([
      "spec.interfaceName: Required value",
      "spec.mac: invalid MAC address",
      "spec.ipNetworks[0]: IP network contains multiple addresses",
      "spec.ipNetworks[1]: invalid CIDR",
      "spec.ipNATs[0].externalIP: mismatched IP versions",
      "spec.ipNATs: NAT is not in the endpoint networks",
      "spec.ports[0].name: WorkloadEndpointPort name must not be empty if no HostPort is specified",
      "spec.ports[1].protocol: WorkloadEndpointPort protocol does not support ports.",
    ]);
  });
});

describe("validate: HostEndpoint and Node", () => {
  it("requires a node and an interface or expected IPs", () => {
    expect(check("HostEndpoint", "h", {})).toEqual([
      "spec.node: node must be specified",
      "spec: at least one of interfaceName or expectedIPs must be specified",
    ]);
    expect(check("HostEndpoint", "h", { node: "n", interfaceName: "*" })).toEqual([]);
    expect(check("HostEndpoint", "h", { node: "n", interfaceName: "much-too-long-name0" })).toEqual([
      "spec.interfaceName: must have at most 15 bytes",
      "spec.interfaceName: invalid interface name",
    ]);
  });

  it("checks named ports", () => {
    expect(
      check("HostEndpoint", "h", {
        node: "n",
        expectedIPs: ["10.0.0.1", "nope"],
        ports: [
          { name: "Bad--Name", protocol: "TCP", port: 1 },
          { name: "x", protocol: "ICMP", port: 0 },
        ],
      }),
    ).toEqual([
      "spec.expectedIPs[1]: invalid IP address",
      "spec.ports[0].name: invalid port name",
      "spec.ports[1].port: should be greater than or equal to 1",
      "spec.ports[1].protocol: EndpointPort protocol does not support ports.",
    ]);
  });

  it("rejects an empty Node BGP section", () => {
    expect(check("Node", "n", { bgp: {} })).toEqual(["spec.bgp: Spec.BGP should not be empty"]);
    expect(check("Node", "n", { bgp: { ipv4Address: "fd00::1/64" } })).toEqual([
      "spec.bgp.ipv4Address: invalid IPv4 CIDR",
    ]);
    expect(check("Node", "n", { addresses: [{ address: "10.0.0.5/24" }] })).toEqual([
      "spec.addresses[0].address: CIDR is not strictly masked",
    ]);
  });
});

describe("validate: KubeControllersConfiguration and CalicoNodeStatus", () => {
  it("checks host endpoint templates", () => {
    const templates = [
      { generateName: "a", interfaceCIDRs: ["10.0.0.0/8"] },
      { generateName: "a", interfacePattern: "eth.*" },
      { interfacePattern: "eth0" },
      { generateName: "b" },
    ];
    expect(
      check("KubeControllersConfiguration", "default", {
        controllers: { node: { hostEndpoint: { templates } } },
      }),
    ).toEqual([
      "spec.controllers.node.hostEndpoint.templates[1].generateName: Template name must be unique",
      "spec.controllers.node.hostEndpoint.templates[2].generateName: Template name must be specified",
      "spec.controllers.node.hostEndpoint.templates[3]: InterfaceCIDRs or InterfacePattern must be specified",
    ]);
  });

  it("requires the CalicoNodeStatus request fields", () => {
    expect(check("CalicoNodeStatus", "s", { classes: ["Agent", "Agent", "Magic"] })).toEqual([
      "spec.node: Required value",
      "spec.classes[1]: Duplicate value",
      'spec.classes[2]: supported values: "Agent", "BGP", "Routes"',
      "spec.updatePeriodSeconds: Required value",
    ]);
  });
});
