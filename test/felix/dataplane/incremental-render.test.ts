/**
 * The renderers remember work between renders (memoised chains, the workload section kept while
 * the state's change counters stand still, sorted policy keys). Property: after any sequence of
 * policy, profile, workload and host-endpoint changes, each rendered along the way, the render of
 * the state after each change is byte-identical to a from-scratch render of that state (a fresh state built
 * from the final objects, and a fresh config, so no memo entry is shared), in both renderers; and
 * what the nft driver remembers having written, updated in place change by change, is what it
 * would record for that table from nothing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PolicyID, ToDataplane } from "../../../src/felix/calc/messages.js";
import {
  renderFilterChains,
  renderHostTableChains,
  ruleLine,
} from "../../../src/felix/dataplane/iptables/render.js";
import { observedFromDesired } from "../../../src/felix/dataplane/nft/diff.js";
import type { Family } from "../../../src/felix/dataplane/nft/model.js";
import type { ObservedTable } from "../../../src/felix/dataplane/nft/observe.js";
import { renderTable } from "../../../src/felix/dataplane/nft/text.js";
import { defaultRenderConfig, type RenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { resolveHostEndpoints } from "../../../src/felix/dataplane/rules/host-endpoints.js";
import { renderPolicyTable } from "../../../src/felix/dataplane/rules/ruleset.js";
import { DesiredPolicyState } from "../../../src/felix/dataplane/state.js";
import { gnp, hep, policyBody, rule, tier, workload } from "./fixtures.js";

const POLICIES = ["p0", "p1", "p2", "p3", "p4"];
const PROFILES = ["kns.a", "kns.b", "kns.c"];
/** Few selectors, so consecutive policies often share one and form a group. */
const SELECTORS = ["all()", "app == 'a'"];
const WORKLOADS = 5;

/** Everything both renderers produce for a state, as text. */
function renderAll(state: DesiredPolicyState, cfg: RenderConfig): string {
  const heps = resolveHostEndpoints(state.hostEndpoints, new Map());
  const out: string[] = [];
  for (const family of [4, 6] as Family[]) {
    out.push(renderTable(renderPolicyTable(state, family, cfg, heps)));
    for (const c of renderFilterChains(state, family, cfg, heps))
      out.push(`filter :${c.name}`, ...c.rules.map((r) => ruleLine(c.name, r)));
    for (const table of ["raw", "mangle"] as const)
      for (const c of renderHostTableChains(state, family, cfg, table, heps))
        out.push(`${table} :${c.name}`, ...c.rules.map((r) => ruleLine(c.name, r)));
  }
  return out.join("\n");
}

const policyId = fc.constantFrom(...POLICIES).map((name): PolicyID => gnp(name));
const tierArb = fc
  .record({
    ingress: fc.uniqueArray(policyId, { selector: (id) => id.name, maxLength: 5 }),
    egress: fc.uniqueArray(policyId, { selector: (id) => id.name, maxLength: 5 }),
    pass: fc.boolean(),
  })
  .map((t) => tier("default", t.ingress, t.egress, t.pass ? "pass" : "deny"));
const profileIds = fc.uniqueArray(fc.constantFrom(...PROFILES), { maxLength: 2 });

/**
 * One calc-graph message; objects are always new, as the calc graph never mutates one. Policy
 * updates come most often: they are the change the renderers take the most shortcuts for.
 */
const message: fc.Arbitrary<ToDataplane> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        id: policyId,
        selector: fc.constantFrom(...SELECTORS),
        port: fc.integer({ min: 1, max: 3 }),
        everywhere: fc.boolean(),
      })
      .map(
        ({ id, selector, port, everywhere }): ToDataplane => ({
          type: "ActivePolicyUpdate",
          id,
          policy: {
            ...policyBody(
              [rule({ protocol: "tcp", dstPorts: [{ first: port, last: port }] })],
              [rule({ action: "deny" })],
            ),
            selector,
            performanceHints: everywhere ? ["AssumeNeededOnEveryNode"] : [],
          },
        }),
      ),
  },
  policyId.map((id): ToDataplane => ({ type: "ActivePolicyRemove", id })),
  fc.record({ name: fc.constantFrom(...PROFILES), allow: fc.boolean() }).map(
    ({ name, allow }): ToDataplane => ({
      type: "ActiveProfileUpdate",
      id: { name },
      profile: { inboundRules: [rule({ action: allow ? "allow" : "deny" })], outboundRules: [rule()] },
    }),
  ),
  fc.constantFrom(...PROFILES).map((name): ToDataplane => ({ type: "ActiveProfileRemove", id: { name } })),
  fc
    .record({
      n: fc.integer({ min: 0, max: WORKLOADS - 1 }),
      iface: fc.integer({ min: 0, max: WORKLOADS - 1 }),
      tiers: fc.array(tierArb, { maxLength: 1 }),
      profiles: profileIds,
    })
    .map(
      ({ n, iface, tiers, profiles }): ToDataplane => ({
        type: "WorkloadEndpointUpdate",
        id: { orchestratorId: "k8s", workloadId: `ns/w${n}`, endpointId: "eth0" },
        endpoint: workload(`cali${iface}`, [`10.0.0.${n + 1}/32`], { tiers, profileIds: profiles }),
      }),
    ),
  fc.integer({ min: 0, max: WORKLOADS - 1 }).map(
    (n): ToDataplane => ({
      type: "WorkloadEndpointRemove",
      id: { orchestratorId: "k8s", workloadId: `ns/w${n}`, endpointId: "eth0" },
    }),
  ),
  fc
    .record({
      iface: fc.constantFrom("eth0", "eth1"),
      tiers: fc.array(tierArb, { maxLength: 1 }),
      profiles: profileIds,
    })
    .map(
      ({ iface, tiers, profiles }): ToDataplane => ({
        type: "HostEndpointUpdate",
        id: { endpointId: iface },
        endpoint: hep(iface, { tiers, untrackedTiers: tiers, preDnatTiers: tiers, profileIds: profiles }),
      }),
    ),
  fc
    .constantFrom("eth0", "eth1")
    .map((iface): ToDataplane => ({ type: "HostEndpointRemove", id: { endpointId: iface } })),
);

/** An observed table without the desired objects it remembers, in name order, to compare two. */
function observedText(o: ObservedTable): string {
  const byName = (m: Map<string, object>) =>
    [...m]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, value]) =>
        JSON.stringify([name, value], (k, v: unknown) =>
          k === "source"
            ? undefined
            : v instanceof Set
              ? [...v].sort()
              : v instanceof Map
                ? [...v].sort()
                : v,
        ),
      );
  return [...byName(o.sets), ...byName(o.maps), ...byName(o.chains)].join("\n");
}

/** The key a message's object lives under, shared by its update and its removal. */
function objectKey(msg: ToDataplane): string {
  switch (msg.type) {
    case "ActivePolicyUpdate":
    case "ActivePolicyRemove":
      return `policy ${msg.id.name}`;
    case "ActiveProfileUpdate":
    case "ActiveProfileRemove":
      return `profile ${msg.id.name}`;
    case "WorkloadEndpointUpdate":
    case "WorkloadEndpointRemove":
      return `workload ${msg.id.workloadId}`;
    case "HostEndpointUpdate":
    case "HostEndpointRemove":
      return `hep ${msg.id.endpointId}`;
    default:
      throw new Error(`unexpected ${msg.type}`);
  }
}

describe("incremental render", () => {
  it("equals a from-scratch render of the final state after any sequence of changes", () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 25 }), fc.boolean(), (msgs, reject) => {
        const overrides = reject ? { denyAction: "reject" as const } : {};
        const cfg = defaultRenderConfig(overrides);
        const live = new DesiredPolicyState();
        live.onUpdate({ type: "IPSetUpdate", id: "s:a", setType: "net", members: ["10.1.0.0/16"] });
        // What the final state holds, in the order its maps hold it (a re-set key keeps its place).
        const final = new Map<string, ToDataplane>();
        // What the nft driver would remember having written, kept up to date in place as it does.
        const written = new Map<Family, ObservedTable>();
        // Every prefix of the sequence is a sequence too: compare after each change.
        for (const msg of msgs) {
          live.onUpdate(msg);
          if (msg.type.endsWith("Remove")) final.delete(objectKey(msg));
          else final.set(objectKey(msg), msg);
          const fresh = new DesiredPolicyState();
          fresh.onUpdate({ type: "IPSetUpdate", id: "s:a", setType: "net", members: ["10.1.0.0/16"] });
          for (const m of final.values()) fresh.onUpdate(m);
          expect(renderAll(live, cfg)).toBe(renderAll(fresh, defaultRenderConfig(overrides)));
          for (const family of [4, 6] as Family[]) {
            const table = renderPolicyTable(live, family, cfg);
            const kept = observedFromDesired(table, written.get(family));
            written.set(family, kept);
            expect(observedText(kept)).toBe(observedText(observedFromDesired(table)));
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("what a change re-renders", () => {
  /** Two workloads under two policies with one selector (a shared group), and a profile. */
  function groupedState(): DesiredPolicyState {
    const s = new DesiredPolicyState();
    for (const name of ["a", "b"]) s.onUpdate(policyUpdate(name, "all()", 80));
    s.onUpdate({
      type: "ActiveProfileUpdate",
      id: { name: "kns.a" },
      profile: { inboundRules: [rule()], outboundRules: [rule()] },
    });
    for (const n of [0, 1])
      s.onUpdate({
        type: "WorkloadEndpointUpdate",
        id: { orchestratorId: "k8s", workloadId: `ns/w${n}`, endpointId: "eth0" },
        endpoint: workload(`cali${n}`, [`10.0.0.${n + 1}/32`], {
          tiers: [tier("default", [gnp("a"), gnp("b")], [gnp("a")])],
          profileIds: ["kns.a"],
        }),
      });
    return s;
  }

  function policyUpdate(name: string, selector: string, port: number): ToDataplane {
    return {
      type: "ActivePolicyUpdate",
      id: gnp(name),
      policy: {
        ...policyBody([rule({ protocol: "tcp", dstPorts: [{ first: port, last: port }] })]),
        selector,
      },
    };
  }

  it("keeps every endpoint and group chain, in both renderers and families, when only a policy's rules change", () => {
    const s = groupedState();
    const cfg = defaultRenderConfig();
    const render = () => ({
      nft: [renderPolicyTable(s, 4, cfg), renderPolicyTable(s, 6, cfg)].map((t) => t.chains),
      ipt: [renderFilterChains(s, 4, cfg), renderFilterChains(s, 6, cfg)].map(
        (chains) => new Map(chains.map((c) => [c.name, c])),
      ),
    });
    const before = render();
    const catalogue = s.catalogueVersion;
    s.onUpdate(policyUpdate("a", "all()", 443));
    expect(s.catalogueVersion).toBe(catalogue);
    const after = render();
    for (const mode of ["nft", "ipt"] as const)
      for (const [i, chains] of after[mode].entries()) {
        const old = before[mode][i] as Map<string, object>;
        const kept = [...chains.keys()].filter((n) => /cali-(tw|fw|gi|go)-/.test(n));
        expect(kept.length, `${mode} ${i}`).toBeGreaterThan(4);
        for (const name of kept) expect(chains.get(name), `${mode} ${name}`).toBe(old.get(name));
        // Of the endpoint, group, policy and profile chains, only the changed policy's are new.
        const changed = [...chains.keys()].filter(
          (n) => /cali-(tw|fw|gi|go|pi|po|pri|pro)-/.test(n) && chains.get(n) !== old.get(n),
        );
        expect(changed.map((n) => n.replace(/^filter-/, "")).sort(), `${mode} ${i}`).toEqual([
          "cali-pi-gnp/a",
          "cali-po-gnp/a",
        ]);
      }
  });

  it("regroups the endpoint chains when a policy's selector changes", () => {
    const s = groupedState();
    const cfg = defaultRenderConfig();
    const grouped = renderPolicyTable(s, 4, cfg);
    expect([...grouped.chains.keys()].some((n) => n.includes("cali-gi-"))).toBe(true);
    const catalogue = s.catalogueVersion;
    s.onUpdate(policyUpdate("b", "app == 'x'", 80));
    expect(s.catalogueVersion).toBeGreaterThan(catalogue);
    const split = renderPolicyTable(s, 4, cfg);
    expect([...split.chains.keys()].some((n) => n.includes("cali-gi-"))).toBe(false);
    expect(renderTable(split)).toBe(renderTable(renderPolicyTable(s, 4, defaultRenderConfig())));
  });
});
