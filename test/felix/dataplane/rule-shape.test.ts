/**
 * The shape that keeps the per-packet path short: policy groups shared between endpoints
 * (`cali-gi-`/`cali-go-`) and the iptables dispatch prefix tree. The tree is checked by walking
 * it as the kernel would, for every interface, so a name that reached the wrong chain (or none)
 * fails here.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PolicyID, policyIdKey, type ToDataplane } from "../../../src/felix/calc/messages.js";
import {
  dispatchTree,
  type IptChain,
  renderFilterChains,
} from "../../../src/felix/dataplane/iptables/render.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { GROUP_RETURN_STRIDE, groupPolicies } from "../../../src/felix/dataplane/rules/groups.js";
import { renderPolicyTable } from "../../../src/felix/dataplane/rules/ruleset.js";
import { DesiredPolicyState } from "../../../src/felix/dataplane/state.js";
import { gnp, policyBody, rule, tier, workload } from "./fixtures.js";

const cfg = defaultRenderConfig();

function planned(names: string[], unprogrammed: string[] = []) {
  return names.map((n) => ({ id: gnp(n), key: policyIdKey(gnp(n)), programmed: !unprogrammed.includes(n) }));
}

describe("policy groups", () => {
  it("groups runs of two or more programmed policies with one selector, in order", () => {
    const selectors: Record<string, string> = { a: "x", b: "x", c: "y", d: "x", e: "x", f: "x", g: "x" };
    const steps = groupPolicies(planned(["a", "b", "c", "d", "e", "f", "g"], ["f"]), "inbound", (p) =>
      p.id.name in selectors ? selectors[p.id.name] : undefined,
    );
    expect(
      steps.map((s) =>
        s.kind === "group" ? s.group.policies.map((p) => p.id.name).join("+") : s.policy.id.name,
      ),
    ).toEqual(["a+b", "c", "d+e", "f", "g"]);
  });

  it("names a group by selector, direction and the ordered policy list", () => {
    const id = (names: string[], dir: "inbound" | "outbound", sel = "all()") => {
      const [step] = groupPolicies(planned(names), dir, () => sel);
      return step?.kind === "group" ? step.group.id : "";
    };
    expect(id(["a", "b"], "inbound")).toBe(id(["a", "b"], "inbound"));
    const all = [
      id(["a", "b"], "inbound"),
      id(["b", "a"], "inbound"),
      id(["a", "b"], "outbound"),
      id(["a", "b"], "inbound", "role == 'x'"),
      id(["a", "b", "c"], "inbound"),
    ];
    expect(new Set(all).size).toBe(all.length);
    for (const x of all) expect(`cali-gi-${x}`).toHaveLength(28);
  });
});

/** One tier of `n` same-selector policies on each of `endpoints` workloads, plus a lone one. */
function state(n: number, endpoints: number): DesiredPolicyState {
  const s = new DesiredPolicyState();
  const msgs: ToDataplane[] = [];
  const ids: PolicyID[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(gnp(`p${i}`));
    msgs.push({ type: "ActivePolicyUpdate", id: gnp(`p${i}`), policy: policyBody([rule()], [rule()]) });
  }
  msgs.push({
    type: "ActivePolicyUpdate",
    id: gnp("lone"),
    policy: { ...policyBody([rule()]), selector: "role == 'db'" },
  });
  for (let e = 0; e < endpoints; e++)
    msgs.push({
      type: "WorkloadEndpointUpdate",
      id: { orchestratorId: "k8s", workloadId: `ns/w${e}`, endpointId: "eth0" },
      endpoint: workload(`caliw${e}`, [`10.0.${e >> 8}.${e & 255}/32`], {
        tiers: [tier("default", [...ids, gnp("lone")], ids)],
      }),
    });
  for (const m of msgs) s.onUpdate(m);
  return s;
}

describe("group chains", () => {
  it("nftables: endpoints share one group chain per direction and their chains do not grow with it", () => {
    const small = renderPolicyTable(state(2, 3), 4, cfg);
    const big = renderPolicyTable(state(12, 3), 4, cfg);
    const groups = [...big.chains.keys()].filter((n) => /^filter-cali-g[io]-/.test(n));
    expect(groups).toHaveLength(2);
    const tw = big.chains.get("filter-cali-tw-caliw0")?.rules.map((r) => r.body) ?? [];
    expect(tw.length).toBe(small.chains.get("filter-cali-tw-caliw0")?.rules.length);
    const gi = groups.find((n) => n.startsWith("filter-cali-gi-")) ?? "";
    for (const e of [0, 1, 2])
      expect(
        big.chains.get(`filter-cali-tw-caliw${e}`)?.rules.some((r) => r.body.endsWith(`jump ${gi}`)),
      ).toBe(true);
    // The lone policy with another selector is still jumped to from the endpoint chain.
    expect(tw.some((b) => b.endsWith("jump filter-cali-pi-gnp/lone"))).toBe(true);
    const body = big.chains.get(gi)?.rules.map((r) => r.body) ?? [];
    const decided = "meta mark & 0x00030000";
    expect(body.filter((b) => b.includes("jump filter-cali-pi-gnp/p"))).toHaveLength(12);
    expect(body[0]).toBe("jump filter-cali-pi-gnp/p0");
    const returns = body.flatMap((b, i) => (b === `${decided} != 0x00000000 return` ? [i] : []));
    // Before the 6th and 11th jumps: after every fifth policy a decided packet leaves.
    expect(returns.length).toBe(Math.floor((12 - 1) / GROUP_RETURN_STRIDE));
    for (const i of returns) expect(body[i + 1]).toMatch(/^jump filter-cali-pi-/);
    const conditional = body.filter((b) => b.startsWith(`${decided} == 0x00000000 jump`));
    expect(conditional).toHaveLength(12 - 1 - returns.length);
  });

  it("iptables: endpoints share one group chain per direction with Calico's jump pattern", () => {
    const chains = renderFilterChains(state(7, 3), 4, cfg);
    const groups = chains.filter((c) => /^cali-g[io]-/.test(c.name));
    expect(groups.map((c) => c.name.slice(0, 8)).sort()).toEqual(["cali-gi-", "cali-go-"]);
    const gi = groups.find((c) => c.name.startsWith("cali-gi-"));
    expect(gi?.rules.map((r) => r.body)).toEqual([
      "-j cali-pi-gnp/p0",
      ...[1, 2, 3, 4].map((i) => `-m mark --mark 0x00000000/0x00030000 -j cali-pi-gnp/p${i}`),
      "-m mark ! --mark 0x00000000/0x00030000 -j RETURN",
      "-j cali-pi-gnp/p5",
      "-m mark --mark 0x00000000/0x00030000 -j cali-pi-gnp/p6",
    ]);
    const tw = chains.find((c) => c.name === "cali-tw-caliw1")?.rules.map((r) => r.body) ?? [];
    expect(tw).toContain(`-m mark --mark 0x00000000/0x00020000 -j ${gi?.name}`);
  });
});

describe("group chains follow selector changes", () => {
  it("re-renders the unchanged endpoint's chains when a policy's selector splits or rejoins its group", () => {
    const s = state(2, 1);
    const jumps = (dir: "tw" | "fw") =>
      (renderPolicyTable(s, 4, cfg).chains.get(`filter-cali-${dir}-caliw0`)?.rules ?? [])
        .map((r) => r.body)
        .filter((b) => b.includes(" jump filter-cali-"))
        .map((b) => b.replace(/.* jump filter-cali-/, "").replace(/-[\w-]{20}$/, "-<id>"));
    expect(jumps("tw")).toEqual(["gi-<id>", "pi-gnp/lone"]);
    s.onUpdate({
      type: "ActivePolicyUpdate",
      id: gnp("p1"),
      policy: { ...policyBody([rule()], [rule()]), selector: "role == 'other'" },
    });
    expect(jumps("tw")).toEqual(["pi-gnp/p0", "pi-gnp/p1", "pi-gnp/lone"]);
    expect(jumps("fw")).toEqual(["po-gnp/p0", "po-gnp/p1"]);
    s.onUpdate({ type: "ActivePolicyUpdate", id: gnp("p1"), policy: policyBody([rule()], [rule()]) });
    expect(jumps("fw")).toEqual(["go-<id>"]);
    expect(
      renderFilterChains(s, 4, cfg).filter((c) => /^cali-g[io]-/.test(c.name)),
      "the group chains are back in iptables too",
    ).toHaveLength(2);
  });
});

/** Follows a packet on `iface` through the dispatch chains as the kernel would. */
function walk(
  chains: ReadonlyMap<string, IptChain>,
  root: string,
  iface: string,
): { to: string; rules: number } {
  let chain = chains.get(root);
  let rules = 0;
  for (let depth = 0; chain && depth < 16; depth++) {
    let next: IptChain | undefined;
    for (const r of chain.rules) {
      rules++;
      if (r.body === "-j DROP") return { to: "DROP", rules };
      const m = /^-i (\S+) -g (\S+)$/.exec(r.body);
      if (!m) throw new Error(`unexpected dispatch rule ${r.body}`);
      const [, name = "", target = ""] = m;
      const hit = name.endsWith("+") ? iface.startsWith(name.slice(0, -1)) : iface === name;
      if (!hit) continue;
      next = chains.get(target);
      if (!next) return { to: target, rules };
      break;
    }
    chain = next;
  }
  throw new Error(`${iface} fell off the dispatch tree`);
}

function tree(names: readonly string[]) {
  const chains = dispatchTree("cali-from-wl-dispatch", names, "-i", (i) => `fw:${i}`, "-j DROP");
  return new Map(chains.map((c) => [c.name, c]));
}

describe("iptables dispatch tree", () => {
  it("follows Calico's shallow tree: one rule per lone bucket, a child chain per shared one", () => {
    const chains = tree(["calia1", "calia2", "calib1"]);
    expect(chains.get("cali-from-wl-dispatch")?.rules.map((r) => r.body)).toEqual([
      "-i calia+ -g cali-from-wl-dispatch-a",
      "-i calib1 -g fw:calib1",
      "-j DROP",
    ]);
    expect(chains.get("cali-from-wl-dispatch-a")?.rules.map((r) => r.body)).toEqual([
      "-i calia1 -g fw:calia1",
      "-i calia2 -g fw:calia2",
      "-j DROP",
    ]);
  });

  it("keeps a packet's rule count nearly flat from 20 to 5,000 endpoints, where a list grows with them", () => {
    const names = (n: number) =>
      Array.from({ length: n }, (_, i) => `cali${((i * 2654435761) >>> 0).toString(16).padStart(11, "0")}`);
    const worst = (list: string[]) => {
      const chains = tree(list);
      let max = 0;
      for (const n of list) {
        const r = walk(chains, "cali-from-wl-dispatch", n);
        expect(r.to).toBe(`fw:${n}`);
        max = Math.max(max, r.rules);
      }
      for (const c of chains.keys()) expect(c.length).toBeLessThanOrEqual(28);
      return max;
    };
    const few = worst(names(20));
    const many = worst(names(5_000));
    expect(many).toBeLessThan(60);
    expect(many).toBeLessThan(few * 4);
  });

  it("sends every interface to its own chain and anything else to the drop (property)", () => {
    const name = fc.stringMatching(/^[a-c0-2]{1,6}$/).map((s) => `cali${s}`);
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 0, maxLength: 120 }), name, (list, probe) => {
        const chains = tree(list);
        for (const n of list) expect(walk(chains, "cali-from-wl-dispatch", n).to).toBe(`fw:${n}`);
        if (!list.includes(probe)) expect(walk(chains, "cali-from-wl-dispatch", probe).to).toBe("DROP");
        expect(walk(chains, "cali-from-wl-dispatch", "eth0").to).toBe("DROP");
      }),
      { numRuns: 300 },
    );
  });
});
