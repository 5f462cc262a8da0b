import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { localRunner, NftablesDriver } from "../../../src/felix/dataplane/index.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { renderPolicyTable } from "../../../src/felix/dataplane/rules/ruleset.js";
import type { DesiredPolicyState } from "../../../src/felix/dataplane/state.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";
import { gnp, policyBody, rule, sampleState } from "./fixtures.js";

const cfg = defaultRenderConfig();
let ns: Netns;
let driver: NftablesDriver;

const desiredState = (): DesiredPolicyState => sampleState();

async function nft(script: string) {
  await ns.execOk(["nft", "-f", "-"], { input: script });
}

async function listing(): Promise<string> {
  return (await ns.execOk(["nft", "list", "table", "ip", "calico"])).stdout;
}

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .sort();
}

beforeAll(async () => {
  ns = await createNetns("cts-dp");
  driver = new NftablesDriver(localRunner(["nsenter", `--net=${ns.path}`]));
});

beforeEach(async () => {
  await driver.remove(4, "calico");
});

afterAll(async () => {
  await removeAll();
});

describe("nftables driver", () => {
  it("sweeps what an earlier run left and leaves other tables alone", async () => {
    await nft(
      [
        "add table ip other",
        "add chain ip other keep",
        "add table ip calico",
        "add set ip calico cali40s-old { type ipv4_addr; }",
        "add chain ip calico filter-cali-old",
        "add rule ip calico filter-cali-old ip saddr @cali40s-old drop",
        "add chain ip calico filter-cali-pro-kns.a",
        "add rule ip calico filter-cali-pro-kns.a drop",
      ].join("\n"),
    );
    const first = await driver.apply(renderPolicyTable(desiredState(), 4, cfg));
    expect(first.rebuilt).toBe(false);
    expect(first.script).toContain("delete chain ip calico filter-cali-old");
    expect(first.script).toContain("flush chain ip calico filter-cali-pro-kns.a");
    const text = await listing();
    expect(text).not.toContain("cali-old");
    expect(text).not.toContain("cali40s-old");
    expect(text).toContain("elements = { 10.240.0.1 . tcp . 8080 }");
    expect((await ns.execOk(["nft", "list", "table", "ip", "other"])).stdout).toContain("chain keep");
    await ns.execOk(["nft", "delete", "table", "ip", "other"]);
  });

  it("makes no change when applying the same state twice", async () => {
    const desired = renderPolicyTable(desiredState(), 4, cfg);
    expect((await driver.apply(desired)).script).toContain("add table ip calico");
    const before = await listing();
    expect((await driver.apply(desired)).script).toBe("");
    expect(await listing()).toBe(before);
  });

  it("repairs drift: a deleted chain, a flushed chain, foreign and missing elements", async () => {
    const desired = renderPolicyTable(desiredState(), 4, cfg);
    await driver.apply(desired);
    const good = await listing();
    await nft(
      [
        "delete chain ip calico filter-cali-po-gnp/web",
        "flush chain ip calico filter-cali-tw-calia",
        "add element ip calico cali40s-src { 192.0.2.1 }",
        'delete element ip calico filter-cali-from-wl-dispatch { "calia" }',
      ].join("\n"),
    );
    driver.invalidate();
    const repair = await driver.apply(desired);
    expect(repair.rebuilt).toBe(false);
    expect(
      repair.script
        .split("\n")
        .filter((l) => l.startsWith("flush") || l.startsWith("add chain") || l.includes("element")),
    ).toEqual([
      "add chain ip calico filter-cali-po-gnp/web",
      "delete element ip calico cali40s-src { 192.0.2.1 }",
      'add element ip calico filter-cali-from-wl-dispatch { "calia" : goto filter-cali-fw-calia }',
      "flush chain ip calico filter-cali-tw-calia",
    ]);
    // A re-created chain is listed last, so compare content regardless of order.
    expect(lines(await listing())).toEqual(lines(good));
    expect((await driver.apply(desired)).script).toBe("");
  });

  it("changes only the set elements and chains that differ", async () => {
    const state = desiredState();
    await driver.apply(renderPolicyTable(state, 4, cfg));
    state.onUpdate({
      type: "IPSetDeltaUpdate",
      id: "s:src",
      addedMembers: ["10.240.0.9/32"],
      removedMembers: ["10.241.0.0/16"],
    });
    state.onUpdate({
      type: "ActivePolicyUpdate",
      id: gnp("web"),
      policy: policyBody([rule({ action: "deny", protocol: "udp" })]),
    });
    const step = await driver.apply(renderPolicyTable(state, 4, cfg));
    expect(step.script.trim().split("\n")).toEqual([
      "delete element ip calico cali40s-src { 10.241.0.0/16 }",
      "add element ip calico cali40s-src { 10.240.0.9 }",
      "flush chain ip calico filter-cali-pi-gnp/web",
      expect.stringMatching(
        /^add rule ip calico filter-cali-pi-gnp\/web meta l4proto 17 meta mark set meta mark \| 0x00040000 drop comment "cali:[\w-]{16}; Policy gnp\/web ingress"$/,
      ),
    ]);
    expect(await listing()).toContain("elements = { 10.240.0.2, 10.240.0.9 }");
  });

  it("rebuilds the table when a set changes type", async () => {
    const state = desiredState();
    await driver.apply(renderPolicyTable(state, 4, cfg));
    state.onUpdate({ type: "IPSetUpdate", id: "s:src", setType: "ip", members: ["10.240.0.5/32"] });
    const step = await driver.apply(renderPolicyTable(state, 4, cfg));
    expect(step.script.startsWith("add table ip calico\ndelete table ip calico\n")).toBe(true);
    expect(await listing()).not.toContain("flags interval");
    expect((await driver.apply(renderPolicyTable(state, 4, cfg))).script).toBe("");
  });

  it("programs the IPv6 table with cali60 sets", async () => {
    const desired = renderPolicyTable(desiredState(), 6, cfg);
    await driver.apply(desired);
    const text = (await ns.execOk(["nft", "list", "table", "ip6", "calico"])).stdout;
    expect(text).toContain("set cali60s-src");
    expect(text).toContain("icmpv6 type { mld-listener-query");
    expect((await driver.apply(desired)).script).toBe("");
    await driver.remove(6, "calico");
  });

  it("loads every match kind and action into the kernel, in both families", async () => {
    const state = desiredState();
    state.onUpdate({
      type: "IPSetUpdate",
      id: "s:v6",
      setType: "net",
      members: ["fd00::/64", "fd00:1::5/128"],
    });
    state.onUpdate({
      type: "IPSetUpdate",
      id: "s:hosts",
      setType: "ip",
      members: ["10.0.0.1/32", "fd00::1/128"],
    });
    const rules = [
      rule({ action: "log" }),
      rule({ action: "log", protocol: "udp" }),
      rule({
        action: "pass",
        protocol: 132,
        notSrcPorts: [{ first: 1, last: 1023 }],
        dstPorts: [{ first: 7, last: 9 }],
      }),
      rule({
        action: "deny",
        notProtocol: "udplite",
        notSrcNets: ["10.1.0.0/16", "10.2.0.0/16"],
        notDstIpSetIds: ["s:hosts"],
      }),
      rule({ protocol: "icmp", icmp: { type: 8, code: 0 }, dstNets: ["10.3.0.0/16"] }),
      rule({ protocol: "icmp", notIcmp: { type: 3 } }),
      rule({ protocol: "icmpv6", ipVersion: 6, notIcmp: { type: 1, code: 4 }, srcIpSetIds: ["s:v6"] }),
      rule({
        protocol: "udp",
        notDstPorts: [{ first: 53, last: 53 }],
        srcNamedPortIpSetIds: ["n:web"],
        notDstNamedPortIpSetIds: ["n:web"],
      }),
      rule({ srcNets: ["fd00::/8"], notDstNets: ["fd00:2::/64"] }),
    ];
    state.onUpdate({ type: "ActivePolicyUpdate", id: gnp("web"), policy: policyBody(rules, rules) });
    for (const family of [4, 6] as const) {
      const desired = renderPolicyTable(state, family, {
        ...cfg,
        denyAction: "reject",
        logPrefix: "%t/%n",
        logActionRateLimit: family === 4 ? "10/second" : undefined,
        interfacePrefixes: ["cali", "tap"],
      });
      const first = await driver.apply(desired);
      expect(first.rebuilt).toBe(false);
      expect((await driver.apply(desired)).script).toBe("");
    }
    const v4 = await listing();
    expect(v4).toContain("icmp type echo-request icmp code net-unreachable");
    expect(v4).not.toContain("fd00");
    // nft lists a burst of 5 (its default) as nothing.
    expect(v4).toContain('limit rate 10/second log prefix "default/web "');
    expect(v4).toContain('iifname { "cali*", "tap*" } jump filter-cali-from-wl-dispatch');
    const v6 = (await ns.execOk(["nft", "list", "table", "ip6", "calico"])).stdout;
    expect(v6).toContain("ip6 saddr fd00::/8 ip6 daddr != fd00:2::/64");
    expect(v6).not.toContain("10.3.0.0");
    await driver.remove(6, "calico");
  });

  it("swaps covered addresses for a covering net in one transaction", async () => {
    const state = desiredState();
    await driver.apply(renderPolicyTable(state, 4, cfg));
    state.onUpdate({
      type: "IPSetDeltaUpdate",
      id: "s:src",
      addedMembers: ["10.240.0.0/24"],
      removedMembers: [],
    });
    const step = await driver.apply(renderPolicyTable(state, 4, cfg));
    expect(step.rebuilt).toBe(false);
    expect(step.script.trim().split("\n")).toEqual([
      "delete element ip calico cali40s-src { 10.240.0.2 }",
      "add element ip calico cali40s-src { 10.240.0.0/24 }",
    ]);
    expect(await listing()).toContain("elements = { 10.240.0.0/24, 10.241.0.0/16 }");
  });

  it("rebuilds the whole table when the delta is refused", async () => {
    const calls: string[] = [];
    const fake = new NftablesDriver(async (argv, input) => {
      calls.push(input ?? argv.join(" "));
      if (argv.includes("-j")) return { code: 0, stdout: '{"nftables": []}', stderr: "" };
      const refused = calls.filter((c) => c.startsWith("add ")).length === 1;
      return refused
        ? { code: 1, stdout: "", stderr: "Error: refused" }
        : { code: 0, stdout: "", stderr: "" };
    });
    const desired = renderPolicyTable(desiredState(), 4, cfg);
    const result = await fake.apply(desired);
    expect(result.rebuilt).toBe(true);
    expect(result.script.startsWith("add table ip calico\ndelete table ip calico\n")).toBe(true);
    expect(calls).toHaveLength(3);
  });
});
