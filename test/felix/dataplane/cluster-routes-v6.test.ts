/**
 * IPv6 block routes in a namespace: when Felix owns the pool type, a blackhole for each of this
 * host's /122 blocks and a route to each remote /122 via its node's IPv6 address, in the same
 * apply as the IPv4 ones and left alone on a second apply.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PolicyDataplane } from "../../../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";
import { routeUpdate } from "./fixtures.js";

let ns: Netns;
const run = (argv: string[], input?: string) => ns.exec(argv, input === undefined ? {} : { input });

const route = routeUpdate;

/** Routes of protocol 80 (Felix's), which `ip` then prints without the protocol. */
async function routes6(): Promise<string[]> {
  const out = await ns.execOk(["ip", "-6", "route", "show", "table", "main", "proto", "80"]);
  return out.stdout
    .split("\n")
    .map((l) => l.replace(/ metric \d+| pref medium/g, "").trim())
    .filter((l) => l !== "");
}

beforeAll(async () => {
  ns = await createNetns("cts-crt6");
  await ns.execOk(["ip", "link", "add", "name", "eth0", "type", "veth", "peer", "name", "peer0"]);
  await ns.execOk(["ip", "addr", "add", "fd00:5::1/64", "dev", "eth0", "nodad"]);
  await ns.execOk(["ip", "link", "set", "eth0", "up"]);
  await ns.execOk(["ip", "link", "set", "peer0", "up"]);
});

afterAll(async () => {
  await ns?.remove();
  await removeAll();
});

describe("IPv6 cluster routes", () => {
  it("blackholes this host's /122 blocks and routes remote ones via their node's IPv6 address", async () => {
    const dp = new PolicyDataplane(
      run,
      defaultRenderConfig(),
      { kind: "nftables" },
      { programClusterRoutes: "Enabled" },
    );
    dp.onUpdate(route("fd10:244::40/122", { types: ["local-workload"], blackhole: true, dstNodeName: "me" }));
    dp.onUpdate(route("fd10:244::80/122", { dstNodeName: "other", dstNodeIp: "fd00:5::2" }));
    dp.onUpdate(route("10.65.0.0/26", { types: ["local-workload"], blackhole: true, dstNodeName: "me" }));
    const first = await dp.apply();
    expect(first.clusterRoutes[6]).toContain("route replace blackhole fd10:244::40/122 proto 80");
    expect(first.clusterRoutes[4]).toContain("route replace blackhole 10.65.0.0/26 proto 80");
    expect((await routes6()).sort()).toEqual([
      "blackhole fd10:244::40/122 dev lo",
      "fd10:244::80/122 via fd00:5::2 dev eth0",
    ]);
    expect((await dp.apply()).clusterRoutes).toEqual({ 4: "", 6: "" });

    dp.onUpdate({ type: "RouteRemove", dst: "fd10:244::80/122" });
    await dp.apply();
    expect(await routes6()).toEqual(["blackhole fd10:244::40/122 dev lo"]);
  });
});
