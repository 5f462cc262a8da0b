/** BGP session computation and BIRD 2 rendering; every rendered config is checked by `bird -p`. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BgpInputs, computeSessions, hashedRouterId, renderBirdConfig } from "../../src/bgp/index.js";
import { run } from "../../src/lib/exec.js";
import { bgpConfig, node, peer, pool } from "./fixtures.js";

let dir: string;

async function parses(config: string): Promise<void> {
  const file = join(dir, `bird-${Math.random().toString(36).slice(2)}.cfg`);
  await writeFile(file, config);
  const out = await run("bird", ["-p", "-c", file]);
  expect(out.stderr).toBe("");
  expect(out.code).toBe(0);
}

const three = [node("n1", "10.0.0.1/24"), node("n2", "10.0.0.2/24"), node("n3", "10.0.0.3/24")];

function inputs(over: Partial<BgpInputs> = {}): BgpInputs {
  return {
    nodeName: "n1",
    nodes: three,
    peers: [],
    configs: [],
    pools: [pool("10.65.0.0/16")],
    blocks: [],
    ...over,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-bgp-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("sessions", () => {
  it("meshes every other node; the greater address string initiates", () => {
    const s = computeSessions(inputs({ nodeName: "n2" }), 4);
    expect(s.map((x) => [x.name, x.asNumber, x.passive])).toEqual([
      ["Mesh_10_0_0_1", "64512", false],
      ["Mesh_10_0_0_3", "64512", true],
    ]);
    expect(computeSessions(inputs(), 6)).toEqual([]);
  });

  it("drops out of the mesh with nodeToNodeMeshEnabled false, and uses the global AS", () => {
    const configs = [bgpConfig("default", { nodeToNodeMeshEnabled: false, asNumber: 65000 })];
    expect(computeSessions(inputs({ configs }), 4)).toEqual([]);
    const peers = [peer("tor", { peerIP: "10.0.0.254", asNumber: 65001 })];
    const s = computeSessions(inputs({ configs, peers }), 4);
    expect(s).toMatchObject([
      { name: "Global_10_0_0_254", asNumber: "65001", sourceAddress: "10.0.0.1", passive: false },
    ]);
    expect(renderBirdConfig(inputs({ configs, peers }))).toContain("local 10.0.0.1 as 65000;");
  });

  it("makes a route reflector topology from one BGPPeer, with rr client on the reflector", () => {
    const nodes = [
      node("n1", "10.0.0.1/24"),
      node("n2", "10.0.0.2/24"),
      node("rr", "10.0.0.9/24", { routeReflectorClusterID: "224.0.0.1" }, { "route-reflector": "true" }),
    ];
    const configs = [bgpConfig("default", { nodeToNodeMeshEnabled: false })];
    const peers = [peer("to-rr", { nodeSelector: "all()", peerSelector: "has(route-reflector)" })];
    const client = computeSessions(inputs({ nodes, configs, peers }), 4);
    expect(client.map((s) => [s.name, s.rrClient])).toEqual([["Node_10_0_0_9", false]]);
    const reflector = computeSessions(inputs({ nodeName: "rr", nodes, configs, peers }), 4);
    expect(reflector.map((s) => [s.name, s.rrClient, s.rrClusterId])).toEqual([
      ["Node_10_0_0_1", true, "224.0.0.1"],
      ["Node_10_0_0_2", true, "224.0.0.1"],
    ]);
  });

  it("applies node-scoped peers by node name and nodeSelector, with their settings", () => {
    const nodes = [
      node("n1", "10.0.0.1/24", {}, { rack: "a" }),
      node("n2", "10.0.0.2/24", {}, { rack: "b" }),
    ];
    const peers = [
      peer("rack-a", {
        nodeSelector: "rack == 'a'",
        peerIP: "10.0.0.250:1790",
        asNumber: 4200000001,
        keepaliveTime: "10s",
        nextHopMode: "Self",
      }),
      peer("only-n2", { node: "n2", peerIP: "10.0.0.251", asNumber: 65002 }),
    ];
    const s = computeSessions(inputs({ nodes, peers }), 4);
    expect(s.map((x) => x.name)).toEqual(["Mesh_10_0_0_2", "Node_10_0_0_250_port_1790"]);
    expect(s[1]).toMatchObject({ port: 1790, asNumber: "4200000001", keepaliveSeconds: 10, nextHop: "self" });
  });

  it("hashes router IDs as Calico does", () => {
    expect(hashedRouterId("kube-master")).toBe("25.79.212.8");
    expect(hashedRouterId("kube-node-1")).toBe("34.92.252.97");
    expect(hashedRouterId("kube-node-2")).toBe("142.112.61.133");
  });
});

describe("BIRD 2 configuration", () => {
  it("renders a mesh node that BIRD accepts, exporting block aggregates and blackholing them", async () => {
    const cfg = renderBirdConfig(inputs({ blocks: ["10.65.3.0/26", "10.65.9.7/32"] }));
    await parses(cfg);
    expect(cfg).toContain("router id 10.0.0.1;");
    expect(cfg).toContain("route 10.65.3.0/26 blackhole;");
    expect(cfg).not.toContain("route 10.65.9.7/32 blackhole;");
    expect(cfg).toContain("if ( net = 10.65.3.0/26 ) then { accept; }");
    expect(cfg).toContain("if ( net ~ 10.65.3.0/26 ) then { reject; }");
    const mesh3 = cfg.slice(cfg.indexOf("protocol bgp Mesh_10_0_0_3"));
    expect(mesh3.slice(0, mesh3.indexOf("\n}"))).toMatch(/neighbor 10.0.0.3 as 64512;[\s\S]*passive on;/);
  });

  it("keeps disableBGPExport pools and encapsulated pools out of BGP and the kernel as Calico does", async () => {
    const pools = [
      pool("10.65.0.0/16"),
      pool("10.66.0.0/16", { disableBGPExport: true }),
      pool("10.67.0.0/16", { ipipMode: "Always" }),
    ];
    const cfg = renderBirdConfig(inputs({ pools }));
    await parses(cfg);
    const exportFn = cfg.slice(
      cfg.indexOf("function calico_export_v4"),
      cfg.indexOf("filter calico_kernel_v4"),
    );
    expect(exportFn).toContain("if ( net ~ 10.66.0.0/16 ) then { reject; }");
    expect(exportFn).toContain("if ( net ~ 10.65.0.0/16 ) then { accept; }");
    const kernel = cfg.slice(cfg.indexOf("filter calico_kernel_v4"), cfg.indexOf("function calico_aggr_v6"));
    expect(kernel).toContain("if ( net ~ 10.67.0.0/16 ) then { reject; }");
  });

  it("attaches prefixAdvertisements' communities (named and literal, per-node winning)", async () => {
    const configs = [
      bgpConfig("default", {
        communities: [{ name: "gold", value: "65001:100" }],
        prefixAdvertisements: [{ cidr: "10.65.0.0/16", communities: ["gold", "65001:200:300"] }],
      }),
    ];
    const cfg = renderBirdConfig(inputs({ configs }));
    await parses(cfg);
    expect(cfg).toContain(
      "if ( net ~ 10.65.0.0/16 ) then { bgp_community.add((65001,100)); bgp_large_community.add((65001,200,300)); }",
    );
    const perNode = [
      ...configs,
      bgpConfig("node.n1", { prefixAdvertisements: [{ cidr: "10.65.1.0/24", communities: ["65002:1"] }] }),
    ];
    const n1 = renderBirdConfig(inputs({ configs: perNode }));
    expect(n1).toContain("if ( net ~ 10.65.1.0/24 ) then { bgp_community.add((65002,1)); }");
    expect(n1).not.toContain("(65001,100)");
  });

  it("renders listen ports, 4-byte AS numbers, reflectors and IPv6 that BIRD accepts", async () => {
    const nodes = [
      node("n1", "10.0.0.1/24", { ipv6Address: "fd00::1/64", asNumber: 4200000000 }),
      node("n2", "10.0.0.2/24", { ipv6Address: "fd00::2/64" }),
      node("rr", "10.0.0.9/24", { routeReflectorClusterID: "224.0.0.1" }, { rr: "y" }),
    ];
    const configs = [bgpConfig("default", { listenPort: 1790 }), bgpConfig("node.n2", { listenPort: 1791 })];
    const peers = [peer("rr", { peerSelector: "has(rr)" })];
    for (const name of ["n1", "n2", "rr"])
      await parses(renderBirdConfig(inputs({ nodeName: name, nodes, configs, peers })));
    const n1 = renderBirdConfig(inputs({ nodes, configs, peers }));
    expect(n1).toContain("local 10.0.0.1 port 1790 as 4200000000;");
    // A mesh peer without its own AS is given this node's AS (Calico's quirk), not the global one.
    expect(n1).toContain("neighbor 10.0.0.2 port 1791 as 4200000000;");
    expect(n1).toContain("protocol bgp Mesh_fd00__2 from bgp_template_v6");
    expect(renderBirdConfig(inputs({ nodeName: "rr", nodes, configs, peers }))).toContain(
      "rr cluster id 224.0.0.1;",
    );
  });
});
