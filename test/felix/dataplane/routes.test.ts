import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkloadRoutesDriver } from "../../../src/felix/dataplane/routes.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";

let ns: Netns;

interface Route {
  dst: string;
  dev: string;
  protocol?: string;
  scope?: string;
}

async function routes(family: 4 | 6): Promise<string[]> {
  const all = await ns.ipJson<Route[]>([`-${family}`, "route", "show", "table", "main"]);
  return all
    .filter((r) => r.protocol !== "kernel")
    .map((r) => `${r.dst} ${r.dev} ${r.protocol ?? "boot"}${r.scope ? ` ${r.scope}` : ""}`)
    .sort();
}

beforeAll(async () => {
  ns = await createNetns("cts-dp");
  for (const [a, b] of [
    ["calir1", "peer1"],
    ["calir2", "peer2"],
    ["other0", "other1"],
  ] as const) {
    await ns.execOk(["ip", "link", "add", "name", a, "type", "veth", "peer", "name", b]);
    await ns.execOk(["ip", "link", "set", a, "up"]);
    await ns.execOk(["ip", "link", "set", b, "up"]);
  }
});

afterAll(async () => {
  await removeAll();
});

describe("workload routes driver", () => {
  it("adopts matching routes, fixes wrong ones, removes stale ones and leaves others alone", async () => {
    await ns.execOk(["ip", "route", "add", "10.9.0.1/32", "dev", "calir1", "proto", "boot", "scope", "link"]);
    await ns.execOk([
      "ip",
      "route",
      "add",
      "10.9.0.2/32",
      "dev",
      "calir1",
      "proto",
      "static",
      "scope",
      "link",
    ]);
    await ns.execOk(["ip", "route", "add", "10.9.0.3/32", "dev", "calir2", "proto", "boot", "scope", "link"]);
    await ns.execOk(["ip", "route", "add", "10.9.9.0/24", "dev", "other0", "proto", "boot", "scope", "link"]);
    let clock = 0;
    const driver = new WorkloadRoutesDriver((argv, input) => ns.exec(argv, { input }), {
      interfacePrefixes: ["cali"],
      now: () => clock,
    });
    const desired = [
      { dst: "10.9.0.1/32", iface: "calir1" },
      { dst: "10.9.0.2/32", iface: "calir2" },
      { dst: "fd00:9::1/128", iface: "calir1" },
    ];
    const first = await driver.apply(desired);
    expect(first[4]).not.toContain("10.9.0.1");
    expect(first[4]).toContain("route del 10.9.0.3 dev calir2");
    expect(await routes(4)).toEqual([
      "10.9.0.1 calir1 boot link",
      "10.9.0.2 calir2 boot link",
      "10.9.9.0/24 other0 boot link",
    ]);
    expect(await routes(6)).toContain("fd00:9::1 calir1 boot");
    expect(await driver.apply(desired)).toEqual({ 4: "", 6: "" });

    // Routes on interfaces no endpoint claims get CNI's grace period before they go.
    expect(driver.graceDeadline).toBeUndefined();
    expect(await driver.apply([])).toEqual({ 4: "", 6: "" });
    expect(driver.graceDeadline).toBe(10_000);
    clock += 9_999;
    expect(await driver.apply([])).toEqual({ 4: "", 6: "" });
    expect(await routes(4)).toContain("10.9.0.1 calir1 boot link");
    clock += 1;
    expect(await driver.apply([])).not.toEqual({ 4: "", 6: "" });
    expect(driver.graceDeadline).toBeUndefined();
    expect(await routes(4)).toEqual(["10.9.9.0/24 other0 boot link"]);
    expect(await routes(6)).not.toContain("fd00:9::1 calir1 boot");
  });
});
