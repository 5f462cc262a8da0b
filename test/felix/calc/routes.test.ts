import { describe, expect, it } from "vitest";
import { CalcGraph, type RouteUpdate } from "../../../src/felix/calc/index.js";
import { vtepMac } from "../../../src/felix/calc/passthru.js";
import { DataplaneModel } from "./dataplane-model.js";
import { block, deleted, node, pool, wep } from "./fixtures.js";

function setup() {
  const graph = new CalcGraph({ hostname: "host1" });
  const dp = new DataplaneModel();
  graph.onStatus("InSync");
  const flush = () => {
    const batch = graph.flush();
    dp.apply(batch);
    return batch;
  };
  const route = (dst: string) => dp.other.get(`route:${dst}`) as RouteUpdate | undefined;
  return { graph, dp, flush, route };
}

describe("route resolver", () => {
  it("routes local workloads, remote blocks, own blocks and pools", () => {
    const { graph, flush, route } = setup();
    graph.onUpdates([
      pool("p", "10.65.0.0/16", { vxlanMode: "Always", natOutgoing: true }),
      node("host1", "192.168.1.1/24"),
      node("host2", "192.168.1.2/24"),
      block("10.65.1.0/26", "host1"),
      block("10.65.2.0/26", "host2"),
      wep("a", { ips: ["10.65.1.5/32"], iface: "calia" }),
      wep("b", { node: "host2", ips: ["10.65.2.5/32"] }),
    ]);
    flush();
    expect(route("10.65.0.0/16")).toMatchObject({
      types: ["cidr-info"],
      ipPoolType: "vxlan",
      natOutgoing: true,
    });
    expect(route("10.65.1.0/26")).toMatchObject({
      types: ["local-workload"],
      blackhole: true,
      dstNodeName: "host1",
      ipPoolType: "vxlan",
    });
    expect(route("10.65.2.0/26")).toMatchObject({
      types: ["remote-workload"],
      blackhole: false,
      dstNodeName: "host2",
      dstNodeIp: "192.168.1.2",
    });
    expect(route("10.65.1.5/32")).toMatchObject({
      types: ["local-workload"],
      localWorkloadInterface: "calia",
      blackhole: false,
    });
    // Remote workloads are covered by their block's route.
    expect(route("10.65.2.5/32")).toBeUndefined();
    expect(route("192.168.1.2/32")).toMatchObject({ types: ["remote-host"], ipPoolType: "none" });
    expect(route("192.168.1.1/32")).toMatchObject({ types: ["local-host"] });
  });

  it("follows node IP changes, pool changes and deletions incrementally", () => {
    const { graph, flush, route } = setup();
    graph.onUpdates([
      pool("p", "10.65.0.0/16", { ipipMode: "CrossSubnet" }),
      node("host2", "192.168.1.2/24"),
      block("10.65.2.0/26", "host2"),
    ]);
    flush();
    expect(route("10.65.2.0/26")).toMatchObject({ ipPoolType: "ipip", crossSubnet: true });
    expect(route("10.65.2.0/26")!.sameSubnet).toBeUndefined();
    graph.onUpdate(node("host1", "192.168.1.1/24"));
    flush();
    expect(route("10.65.2.0/26")!.sameSubnet).toBe(true);
    graph.onUpdate(node("host2", "192.168.2.9/24"));
    const batch = flush();
    expect(route("10.65.2.0/26")).toMatchObject({ dstNodeIp: "192.168.2.9", sameSubnet: false });
    expect(batch.map((m) => m.type).sort()).toEqual([
      "HostMetadataUpdate",
      "RouteRemove",
      "RouteUpdate",
      "RouteUpdate",
    ]);
    graph.onUpdate(pool("p", "10.65.0.0/16", { natOutgoing: true }));
    flush();
    expect(route("10.65.2.0/26")).toMatchObject({
      ipPoolType: "no-encap",
      natOutgoing: true,
      crossSubnet: false,
    });
    graph.onUpdate(deleted(pool("p", "10.65.0.0/16")));
    flush();
    expect(route("10.65.2.0/26")).toMatchObject({ ipPoolType: "none", natOutgoing: false });
    expect(route("10.65.0.0/16")).toBeUndefined();
    graph.onUpdate(deleted(block("10.65.2.0/26", "host2")));
    flush();
    expect(route("10.65.2.0/26")).toBeUndefined();
  });

  it("routes addresses borrowed from another node's block", () => {
    const { graph, flush, route } = setup();
    graph.onUpdates([
      node("host2", "192.168.1.2/24"),
      node("host3", "192.168.1.3/24"),
      block("10.65.2.0/30", "host2", ["host2", "host3", null, "host1"]),
    ]);
    flush();
    expect(route("10.65.2.1/32")).toMatchObject({
      types: ["remote-workload"],
      borrowed: true,
      dstNodeName: "host3",
      dstNodeIp: "192.168.1.3",
    });
    expect(route("10.65.2.3/32")).toMatchObject({ types: ["local-workload"], borrowed: true });
    expect(route("10.65.2.0/32")).toBeUndefined();
    graph.onUpdate(block("10.65.2.0/30", "host2", ["host2", null, null, null]));
    flush();
    expect(route("10.65.2.1/32")).toBeUndefined();
    expect(route("10.65.2.3/32")).toBeUndefined();
  });

  it("routes tunnel addresses to their node", () => {
    const { graph, flush, route } = setup();
    graph.onUpdates([
      node("host1", "192.168.1.1/24", { ipv4VXLANTunnelAddr: "10.65.1.0" }),
      node("host2", "192.168.1.2/24", { ipv4VXLANTunnelAddr: "10.65.2.0" }),
    ]);
    flush();
    expect(route("10.65.2.0/32")).toMatchObject({ types: ["remote-tunnel"], dstNodeIp: "192.168.1.2" });
    expect(route("10.65.1.0/32")).toMatchObject({ types: ["local-tunnel"] });
    graph.onUpdate(node("host2", "192.168.1.2/24"));
    flush();
    expect(route("10.65.2.0/32")).toBeUndefined();
  });

  it("passes pools, host metadata, VTEPs and encapsulation through", () => {
    const { graph, dp, flush } = setup();
    graph.onUpdates([
      pool("p", "10.65.0.0/16", { vxlanMode: "Always", natOutgoing: true }),
      node("host2", "192.168.1.2/24", { ipv4VXLANTunnelAddr: "10.65.2.0" }, { zone: "a" }),
    ]);
    flush();
    expect(dp.other.get("pool:10.65.0.0-16")).toMatchObject({
      pool: { cidr: "10.65.0.0/16", masquerade: true, vxlanMode: "Always", ipipMode: "Never" },
    });
    expect(dp.other.get("host:host2")).toMatchObject({ ipv4Addr: "192.168.1.2", labels: { zone: "a" } });
    expect(dp.other.get("vtep:host2")).toEqual({
      type: "VXLANTunnelEndpointUpdate",
      node: "host2",
      mac: vtepMac("host2"),
      ipv4Addr: "10.65.2.0",
      parentDeviceIp: "192.168.1.2",
    });
    expect(vtepMac("host2")).toMatch(/^66(:[0-9a-f]{2}){5}$/);
    expect(dp.other.get("encap")).toMatchObject({
      ipipEnabled: false,
      vxlanEnabled: true,
      vxlanEnabledV6: false,
    });
    graph.onUpdate(deleted(node("host2", "")));
    flush();
    expect(dp.other.has("vtep:host2")).toBe(false);
    expect(dp.other.has("host:host2")).toBe(false);
  });
});
