/**
 * The iptables + ipset backend against the kernel in a namespace: every match kind loads in both
 * families, applies are minimal and idempotent, a new driver adopts what it finds, stale chains
 * and sets are swept, foreign rules survive, and hand-made drift is repaired.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  desiredIPSets,
  IpsetsDriver,
  IptablesDriver,
  type IptablesFlavour,
  planIpsets,
  renderFilterChains,
} from "../../../src/felix/dataplane/index.js";
import { PolicyDataplane } from "../../../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import type { DesiredPolicyState } from "../../../src/felix/dataplane/state.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";
import { gnp, policyBody, rule, sampleState } from "./fixtures.js";

const cfg = defaultRenderConfig();
let ns: Netns;

const desiredState = (): DesiredPolicyState => sampleState({ dualStack: true });

const run = (argv: string[], input?: string) => ns.exec(argv, input === undefined ? {} : { input });

async function save(family: 4 | 6 = 4): Promise<string> {
  return (await ns.execOk([family === 4 ? "iptables-save" : "ip6tables-save", "-t", "filter"])).stdout;
}

async function applyAll(driver: IptablesDriver, ipsets: IpsetsDriver, state: DesiredPolicyState, c = cfg) {
  const scripts: string[] = [];
  for (const family of [4, 6] as const) {
    const plan = planIpsets(desiredIPSets(state, family), await ipsets.read(family), family);
    await ipsets.restore(plan.update);
    scripts.push(await driver.apply(family, renderFilterChains(state, family, c)));
    await ipsets.restore(plan.cleanup);
  }
  return scripts;
}

beforeAll(async () => {
  ns = await createNetns("cts-ipt");
});

afterAll(async () => {
  await ns?.remove();
  await removeAll();
});

describe.each(["nft", "legacy"] as IptablesFlavour[])("iptables driver (%s flavour)", (flavour) => {
  it("loads every match kind and action in both families, then has nothing left to do", async () => {
    const state = desiredState();
    const rules = [
      rule({ action: "log" }),
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
      rule({ protocol: "icmp", icmp: { type: 8, code: 0 }, dstNets: ["10.3.0.0/16", "10.4.0.0/16"] }),
      rule({ protocol: "icmp", notIcmp: { type: 3 } }),
      rule({ protocol: "icmpv6", ipVersion: 6, notIcmp: { type: 1, code: 4 }, srcIpSetIds: ["s:src"] }),
      rule({
        protocol: "udp",
        notDstPorts: [{ first: 53, last: 53 }],
        srcNamedPortIpSetIds: ["n:web"],
        notDstNamedPortIpSetIds: ["n:web"],
      }),
      rule({
        protocol: "tcp",
        dstPorts: Array.from({ length: 20 }, (_, i) => ({ first: 1000 + i, last: 1000 + i })),
      }),
      rule({ srcNets: ["fd00::/8"], notDstNets: ["fd00:2::/64"] }),
    ];
    state.onUpdate({ type: "ActivePolicyUpdate", id: gnp("web"), policy: policyBody(rules, rules) });
    const driver = new IptablesDriver(run, flavour);
    const ipsets = new IpsetsDriver(run);
    const c = { ...cfg, denyAction: "reject" as const, logPrefix: "%t/%n", logActionRateLimit: "10/second" };
    const first = await applyAll(driver, ipsets, state, c);
    expect(first.every((s) => s.includes("*filter"))).toBe(true);
    expect(await applyAll(driver, ipsets, state, c)).toEqual(["", ""]);
    const v4 = (await ns.execOk([driver.command(4, "save"), "-t", "filter"])).stdout;
    expect(v4).toMatch(/^-A FORWARD -m comment --comment "cali:[\w-]+" -j cali-FORWARD$/m);
    expect(v4).toContain("--match-set cali40n:web src,src");
    expect(v4).toContain("--icmp-type 8/0");
    expect(v4).toContain('--log-prefix "default/web "');
    expect(v4).not.toContain("fd00");
    const v6 = (await ns.execOk([driver.command(6, "save"), "-t", "filter"])).stdout;
    expect(v6).toContain("-s fd00::/8 ! -d fd00:2::/64");
    const sets = (await ns.execOk(["ipset", "list", "-n"])).stdout.split("\n");
    expect(sets).toEqual(
      expect.arrayContaining(["cali40s:src", "cali60s:src", "cali40n:web", "cali60n:web"]),
    );
    await driver.removeAll(4);
    await driver.removeAll(6);
    await ipsets.removeAll(4);
    await ipsets.removeAll(6);
    expect((await ns.execOk([driver.command(4, "save"), "-t", "filter"])).stdout).not.toContain("cali");
    expect((await ns.execOk(["ipset", "list", "-n"])).stdout.trim()).toBe("");
  });
});

describe("iptables reconciliation", () => {
  it("rewrites only the chain that changed and keeps foreign rules", async () => {
    await ns.execOk(["iptables", "-A", "FORWARD", "-s", "192.0.2.1", "-j", "DROP"]);
    const driver = new IptablesDriver(run);
    const ipsets = new IpsetsDriver(run);
    const state = desiredState();
    await applyAll(driver, ipsets, state);
    state.onUpdate({
      type: "ActivePolicyUpdate",
      id: gnp("web"),
      policy: policyBody([rule({ protocol: "tcp", dstPorts: [{ first: 81, last: 81 }] })]),
    });
    state.onUpdate({ type: "IPSetRemove", id: "s:src" });
    const [v4] = await applyAll(driver, ipsets, state);
    expect(v4?.match(/^:\S+/gm)).toEqual([":cali-pi-gnp/web"]);
    expect(await save()).toContain("-A FORWARD -s 192.0.2.1/32 -j DROP");
    // The set went from the desired state, so it was destroyed once no rule used it.
    expect((await ns.execOk(["ipset", "list", "-n"])).stdout).not.toContain("cali40s:src");
  });

  it("adopts an earlier run's rules, sweeps stale chains and repairs drift", async () => {
    const state = desiredState();
    await applyAll(new IptablesDriver(run), new IpsetsDriver(run), state);
    await ns.execOk(["iptables", "-N", "cali-pi-leftover"]);
    await ns.execOk(["iptables", "-A", "cali-pi-leftover", "-j", "DROP"]);
    await ns.execOk(["iptables", "-F", "cali-tw-calia"]);
    const fresh = new IptablesDriver(run);
    const [v4] = await applyAll(fresh, new IpsetsDriver(run), state);
    expect(v4).toContain("-X cali-pi-leftover");
    expect(v4?.match(/^:\S+/gm)?.sort()).toEqual([":cali-pi-leftover", ":cali-tw-calia"]);
    const after = await save();
    expect(after).not.toContain("cali-pi-leftover");
    expect(after).toMatch(/^-A cali-tw-calia .*ESTABLISHED/m);
    expect(await applyAll(fresh, new IpsetsDriver(run), state)).toEqual(["", ""]);
  });

  it("leaving iptables mode for nftables removes every cali chain, hook and set", async () => {
    const dp = new PolicyDataplane(run, cfg, { kind: "nftables" });
    await dp.apply();
    expect(await save()).not.toMatch(/cali/);
    expect(await save(6)).not.toMatch(/cali/);
    expect((await ns.execOk(["ipset", "list", "-n"])).stdout.trim()).toBe("");
    const back = new PolicyDataplane(run, cfg, { kind: "iptables", flavour: "nft" });
    await back.apply();
    expect((await ns.exec(["nft", "list", "table", "ip", "calico"])).code).not.toBe(0);
    expect(await save()).toContain("cali-FORWARD");
  });
});
