/**
 * The overlay plan without a kernel: which routes go plainly, through `vxlan.calico` or through
 * `tunl0` (Always and CrossSubnet, per ProgramClusterRoutes), that a VXLAN route waits for its
 * VTEP, the device and peer entries, IPIP on a kernel without ipip, MTU detection and overheads,
 * and the config parsing that refuses bad values by name.
 */
import { describe, expect, it } from "vitest";
import type { RouteUpdate, VXLANTunnelEndpointUpdate } from "../../../src/felix/calc/messages.js";
import { felixOwnedPoolTypes } from "../../../src/felix/dataplane/cluster-routes.js";
import { tunnelOptionsFromConfig } from "../../../src/felix/dataplane/tunnels/config.js";
import {
  computeMtus,
  DEFAULT_MTU_IFACE_PATTERN,
  detectHostMtu,
  planTunnels,
  type TunnelInputs,
} from "../../../src/felix/dataplane/tunnels/plan.js";
import { routeUpdate } from "./fixtures.js";

function route(dst: string, over: Partial<RouteUpdate> = {}): RouteUpdate {
  return routeUpdate(dst, { ipPoolType: "vxlan", ...over });
}

function vtep(node: string, tunnel: string, ip: string): VXLANTunnelEndpointUpdate {
  return {
    type: "VXLANTunnelEndpointUpdate",
    node,
    mac: `66:00:00:00:00:0${node.slice(-1)}`,
    ipv4Addr: tunnel,
    parentDeviceIp: ip,
  };
}

const vteps = new Map([
  ["node1", vtep("node1", "10.244.0.0", "172.30.1.1")],
  ["node2", vtep("node2", "10.244.1.0", "172.30.1.2")],
  ["node3", vtep("node3", "10.244.2.0", "172.30.2.3")],
]);

function inputs(over: Partial<TunnelInputs> = {}): TunnelInputs {
  return {
    hostname: "node1",
    vxlanEnabled: true,
    ipipEnabled: false,
    vteps,
    routes: [],
    owned: felixOwnedPoolTypes(undefined),
    parent: "eth0",
    hostMtu: 1500,
    settings: { vni: 4096, port: 4789, vxlanMtu: 0, vxlanMtuV6: 0, ipipMtu: 0 },
    ipipAvailable: false,
    ...over,
  };
}

describe("VXLAN plan", () => {
  it("builds the device from this node's VTEP and one peer per other node", () => {
    const plan = planTunnels(inputs());
    expect(plan.vxlan).toEqual({
      name: "vxlan.calico",
      vni: 4096,
      port: 4789,
      local: "172.30.1.1",
      parent: "eth0",
      mac: "66:00:00:00:00:01",
      address: "10.244.0.0",
      mtu: 1450,
    });
    expect(plan.vxlanPeers.map((p) => [p.node, p.tunnelIp, p.nodeIp])).toEqual([
      ["node2", "10.244.1.0", "172.30.1.2"],
      ["node3", "10.244.2.0", "172.30.2.3"],
    ]);
  });

  it("Always: every remote block via the remote VTEP on vxlan.calico, onlink; own blocks blackholed", () => {
    const plan = planTunnels(
      inputs({
        routes: [
          route("10.244.0.0/26", { types: ["local-workload"], blackhole: true, dstNodeName: "node1" }),
          route("10.244.1.0/26", { dstNodeName: "node2", dstNodeIp: "172.30.1.2", sameSubnet: true }),
          route("10.244.2.0/26", { dstNodeName: "node3", dstNodeIp: "172.30.2.3", sameSubnet: false }),
          route("10.244.1.77/32", { dstNodeName: "node2", dstNodeIp: "172.30.1.2", borrowed: true }),
        ],
      }),
    );
    expect(plan.routes).toEqual([
      { dst: "10.244.0.0/26" },
      { dst: "10.244.1.0/26", via: "10.244.1.0", dev: "vxlan.calico", onlink: true },
      { dst: "10.244.2.0/26", via: "10.244.2.0", dev: "vxlan.calico", onlink: true },
      { dst: "10.244.1.77", via: "10.244.1.0", dev: "vxlan.calico", onlink: true },
    ]);
  });

  it("CrossSubnet: same subnet routed plainly via the node on the parent, other subnets tunnelled", () => {
    const plan = planTunnels(
      inputs({
        routes: [
          route("10.244.1.0/26", {
            dstNodeName: "node2",
            dstNodeIp: "172.30.1.2",
            crossSubnet: true,
            sameSubnet: true,
          }),
          route("10.244.2.0/26", {
            dstNodeName: "node3",
            dstNodeIp: "172.30.2.3",
            crossSubnet: true,
            sameSubnet: false,
          }),
        ],
      }),
    );
    expect(plan.routes).toEqual([
      { dst: "10.244.1.0/26", via: "172.30.1.2", dev: "eth0", onlink: true },
      { dst: "10.244.2.0/26", via: "10.244.2.0", dev: "vxlan.calico", onlink: true },
    ]);
  });

  it("a remote block waits for its node's VTEP; without our own VTEP there is no device", () => {
    const partial = new Map([...vteps].filter(([n]) => n !== "node3"));
    const plan = planTunnels(
      inputs({
        vteps: partial,
        routes: [route("10.244.2.0/26", { dstNodeName: "node3", dstNodeIp: "172.30.2.3" })],
      }),
    );
    expect(plan.routes).toEqual([]);
    const noSelf = new Map([...vteps].filter(([n]) => n !== "node1"));
    const p2 = planTunnels(inputs({ vteps: noSelf }));
    expect(p2.vxlan).toBeUndefined();
    expect(p2.vxlanPeers).toEqual([]);
  });

  it("VXLAN off: no device, no peers, MTU is the host's", () => {
    const plan = planTunnels(inputs({ vxlanEnabled: false }));
    expect(plan.vxlan).toBeUndefined();
    expect(plan.mtus.pod).toBe(1500);
  });

  it("a parent interface that cannot be found is reported, not guessed", () => {
    const plan = planTunnels(inputs({ parent: undefined }));
    expect(plan.vxlan).toBeUndefined();
    expect(plan.problems.join()).toContain("172.30.1.1");
  });
});

describe("IPIP plan", () => {
  const ipipRoutes = [
    route("10.245.0.0/32", { types: ["local-tunnel"], ipPoolType: "ipip", dstNodeName: "node1" }),
    route("10.245.1.0/26", {
      ipPoolType: "ipip",
      dstNodeName: "node2",
      dstNodeIp: "172.30.1.2",
      crossSubnet: true,
      sameSubnet: true,
    }),
    route("10.245.2.0/26", {
      ipPoolType: "ipip",
      dstNodeName: "node3",
      dstNodeIp: "172.30.2.3",
      crossSubnet: true,
      sameSubnet: false,
    }),
  ];

  it("tunl0 with the node's IPIP address; remote blocks onlink via the node IP on tunl0 (CrossSubnet: plain)", () => {
    const plan = planTunnels(
      inputs({ vxlanEnabled: false, ipipEnabled: true, ipipAvailable: true, routes: ipipRoutes }),
    );
    expect(plan.ipip).toEqual({ name: "tunl0", address: "10.245.0.0", mtu: 1480 });
    expect(plan.routes).toEqual([
      { dst: "10.245.1.0/26", via: "172.30.1.2", dev: "eth0", onlink: true },
      { dst: "10.245.2.0/26", via: "172.30.2.3", dev: "tunl0", onlink: true },
    ]);
    expect(plan.mtus.pod).toBe(1480);
  });

  it("on a kernel without ipip: no tunl0 routes, and the reason is given", () => {
    const plan = planTunnels(
      inputs({ vxlanEnabled: false, ipipEnabled: true, ipipAvailable: false, routes: ipipRoutes }),
    );
    expect(plan.routes.filter((r) => r.dev === "tunl0")).toEqual([]);
    expect(plan.problems).toContain("the kernel has no ipip support: IPIP routes are not programmed");
  });

  it("EnabledNoEncapOnly leaves IPIP routes to BIRD", () => {
    const plan = planTunnels(
      inputs({
        ipipEnabled: true,
        ipipAvailable: true,
        routes: ipipRoutes,
        owned: felixOwnedPoolTypes("EnabledNoEncapOnly"),
      }),
    );
    expect(plan.routes).toEqual([]);
  });
});

describe("MTU", () => {
  const pattern = new RegExp(DEFAULT_MTU_IFACE_PATTERN);
  it("takes the smallest up interface matching the pattern, else Felix's 1460", () => {
    const links = [
      { ifname: "lo", mtu: 65536, operstate: "UNKNOWN", flags: ["UP", "LOWER_UP"] },
      { ifname: "eth3", mtu: 1300, operstate: "UNKNOWN", flags: ["UP"] },
      { ifname: "eth4", mtu: 1460, operstate: "LOWERLAYERDOWN", flags: ["UP", "LOWER_UP"] },
      { ifname: "eth0", mtu: 9000, operstate: "UP" },
      { ifname: "eth1", mtu: 1450, operstate: "UP" },
      { ifname: "eth2", mtu: 1200, operstate: "DOWN" },
      { ifname: "cali123", mtu: 1000, operstate: "UP" },
    ];
    expect(detectHostMtu(links, pattern)).toEqual({ mtu: 1450, iface: "eth1" });
    expect(detectHostMtu([{ ifname: "lo", mtu: 65536 }], pattern)).toEqual({ mtu: 1460 });
  });

  it("subtracts Calico's overheads, honours explicit MTUs, and gives pods the smallest enabled one", () => {
    expect(
      computeMtus(9000, { vxlanMtu: 0, vxlanMtuV6: 0, ipipMtu: 0 }, { vxlan: true, ipip: false }),
    ).toEqual({
      host: 9000,
      vxlan: 8950,
      vxlanV6: 8930,
      ipip: 8980,
      pod: 8950,
    });
    // IPv6 VXLAN costs 70 bytes, and the pod MTU must fit the tightest enabled encapsulation.
    expect(
      computeMtus(
        1500,
        { vxlanMtu: 0, vxlanMtuV6: 0, ipipMtu: 0 },
        { vxlan: true, vxlanV6: true, ipip: false },
      ).pod,
    ).toBe(1430);
    expect(
      computeMtus(1500, { vxlanMtu: 1400, vxlanMtuV6: 0, ipipMtu: 0 }, { vxlan: true, ipip: true }).pod,
    ).toBe(1400);
    expect(
      computeMtus(1500, { vxlanMtu: 0, vxlanMtuV6: 0, ipipMtu: 0 }, { vxlan: false, ipip: false }).pod,
    ).toBe(1500);
  });
});

describe("overlay parameters", () => {
  it("defaults to Calico's VNI 4096, port 4789, automatic MTUs and /var/lib/calico/mtu", () => {
    const o = tunnelOptionsFromConfig({}, "node1");
    expect(o.settings).toEqual({ vni: 4096, port: 4789, vxlanMtu: 0, vxlanMtuV6: 0, ipipMtu: 0 });
    expect(o.mtuFile).toBe("/var/lib/calico/mtu");
    expect(tunnelOptionsFromConfig({ VXLANVNI: "16777215", MTUFilePath: "/x/mtu" }, "n").settings.vni).toBe(
      16777215,
    );
  });

  it.each([
    ["VXLANVNI", "16777216"],
    ["VXLANVNI", "0"],
    ["VXLANPort", "70000"],
    ["VXLANMTU", "-1"],
    ["IpInIpMtu", "abc"],
    ["MTUIfacePattern", "(("],
  ])("refuses %s=%s naming the parameter", (name, value) => {
    expect(() => tunnelOptionsFromConfig({ [name]: value }, "n")).toThrow(name);
  });
});
