/**
 * Block routes in a namespace: blackholes for this host's blocks and routes to remote blocks via
 * their node, only for the pool types `ProgramClusterRoutes` gives Felix; BIRD's and the admin's
 * routes are never touched, and Felix's own stale routes are swept.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IPPoolType, RouteUpdate } from "../../../src/felix/calc/messages.js";
import { ClusterRoutesDriver, felixOwnedPoolTypes } from "../../../src/felix/dataplane/cluster-routes.js";
import { PolicyDataplane } from "../../../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { planTunnels } from "../../../src/felix/dataplane/tunnels/plan.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";
import { routeUpdate } from "./fixtures.js";

let ns: Netns;
const run = (argv: string[], input?: string) => ns.exec(argv, input === undefined ? {} : { input });

/** Cluster routes with no overlay enabled. */
function desiredClusterRoutes(routes: RouteUpdate[], owned: ReadonlySet<IPPoolType>) {
  return planTunnels({
    hostname: "me",
    vxlanEnabled: false,
    ipipEnabled: false,
    vteps: new Map(),
    routes,
    owned,
    hostMtu: 1500,
    settings: { vni: 4096, port: 4789, vxlanMtu: 0, vxlanMtuV6: 0, ipipMtu: 0 },
    ipipAvailable: false,
  }).routes;
}

const route = routeUpdate;

const localBlock = route("10.65.0.0/26", { types: ["local-workload"], blackhole: true, dstNodeName: "me" });
const remoteBlock = route("10.65.1.0/26", { dstNodeName: "other", dstNodeIp: "10.0.5.2" });
const ipipBlock = route("10.66.0.0/26", { ipPoolType: "ipip", types: ["local-workload"], blackhole: true });

async function routes(): Promise<string[]> {
  const out = await ns.execOk(["ip", "route", "show", "table", "main"]);
  return out.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

beforeAll(async () => {
  ns = await createNetns("cts-crt");
  await ns.execOk(["ip", "link", "add", "name", "eth0", "type", "veth", "peer", "name", "peer0"]);
  await ns.execOk(["ip", "addr", "add", "10.0.5.1/24", "dev", "eth0"]);
  await ns.execOk(["ip", "link", "set", "eth0", "up"]);
  await ns.execOk(["ip", "link", "set", "peer0", "up"]);
});

afterAll(async () => {
  await ns?.remove();
  await removeAll();
});

describe("cluster routes", () => {
  it("maps ProgramClusterRoutes to the pool types Felix owns", () => {
    expect([...felixOwnedPoolTypes(undefined)].sort()).toEqual(["ipip", "vxlan"]);
    expect([...felixOwnedPoolTypes("Enabled")].sort()).toEqual(["ipip", "no-encap", "vxlan"]);
    expect([...felixOwnedPoolTypes("EnabledNoEncapOnly")].sort()).toEqual(["no-encap", "vxlan"]);
    expect(
      desiredClusterRoutes([localBlock, remoteBlock, ipipBlock], felixOwnedPoolTypes(undefined)),
    ).toEqual([{ dst: "10.66.0.0/26" }]);
  });

  it("programs blackholes and remote blocks it owns, leaving foreign routes alone", async () => {
    await ns.execOk(["ip", "route", "add", "10.70.0.0/24", "via", "10.0.5.2", "proto", "bird"]);
    await ns.execOk(["ip", "route", "add", "blackhole", "10.71.0.0/24", "proto", "static"]);
    await ns.execOk(["ip", "route", "add", "blackhole", "10.72.0.0/24", "proto", "80"]);
    const dp = new PolicyDataplane(
      run,
      defaultRenderConfig(),
      { kind: "nftables" },
      { programClusterRoutes: "Enabled" },
    );
    for (const r of [localBlock, remoteBlock, ipipBlock]) dp.onUpdate(r);
    const result = await dp.apply();
    expect(result.clusterRoutes[4]).toContain("route replace blackhole 10.65.0.0/26 proto 80");
    const table = await routes();
    expect(table).toContain("blackhole 10.65.0.0/26 proto 80");
    expect(table).toContain("blackhole 10.66.0.0/26 proto 80");
    expect(table).toContain("10.65.1.0/26 via 10.0.5.2 dev eth0 proto 80");
    expect(table).toContain("10.70.0.0/24 via 10.0.5.2 dev eth0 proto bird");
    expect(table).toContain("blackhole 10.71.0.0/24 proto static");
    expect(table.join("\n")).not.toContain("10.72.0.0");
    expect((await dp.apply()).clusterRoutes).toEqual({ 4: "", 6: "" });

    dp.onUpdate({ type: "RouteRemove", dst: "10.65.1.0/26" });
    await dp.apply();
    expect((await routes()).join("\n")).not.toContain("10.65.1.0/26");
  });

  it("reads no interfaces or routes for a block of a pool type BIRD routes", async () => {
    const ran: string[] = [];
    const counting = (argv: string[], input?: string) => {
      if (argv[0] === "ip") ran.push(argv.join(" "));
      return run(argv, input);
    };
    const dp = new PolicyDataplane(counting, defaultRenderConfig(), { kind: "nftables" });
    await dp.apply();
    ran.length = 0;
    // Another node's new no-encap block, as every host sees when a node claims one.
    dp.onUpdate(route("10.67.1.0/26", { dstNodeName: "other", dstNodeIp: "10.0.5.2" }));
    await dp.apply();
    expect(ran).toEqual([]);
    dp.onUpdate({ type: "RouteRemove", dst: "10.67.1.0/26" });
    await dp.apply();
    expect(ran).toEqual([]);

    // One Felix programs (IPIP is owned by default) still gets the full route pass.
    const ipip = route("10.68.0.0/26", { ipPoolType: "ipip", types: ["local-workload"], blackhole: true });
    dp.onUpdate(ipip);
    await dp.apply();
    expect(ran.some((c) => c.includes("route show"))).toBe(true);
    expect(await routes()).toContain("blackhole 10.68.0.0/26 proto 80");
    ran.length = 0;
    dp.onUpdate({ type: "RouteRemove", dst: "10.68.0.0/26" });
    await dp.apply();
    expect(ran.some((c) => c.includes("route show"))).toBe(true);
    expect((await routes()).join("\n")).not.toContain("10.68.0.0/26");
    dp.close();
  });

  it("takes nothing for no-encap pools by default: BIRD owns those", async () => {
    const driver = new ClusterRoutesDriver(run);
    await driver.apply(
      desiredClusterRoutes([localBlock, remoteBlock], felixOwnedPoolTypes("EnabledIPIPOnly")),
    );
    const table = (await routes()).join("\n");
    expect(table).not.toContain("10.65.0.0/26");
    expect(table).not.toContain("10.65.1.0/26");
    expect(table).toContain("10.70.0.0/24 via 10.0.5.2 dev eth0 proto bird");
  });
});
