/**
 * Randomised properties of the whole graph:
 * 1. Order independence: the same final resources, reached through any order of updates with
 *    intermediate values and deletions, and flushed at arbitrary points, leave the dataplane in
 *    the same state as applying the final resources once.
 * 2. Brute force: every IP set's members equal a naive evaluation of its selector over every
 *    endpoint and network set, and the active policies are exactly those matching a local
 *    endpoint.
 * The dataplane model also checks the sequencing contract on every message.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Rule } from "../../../src/api/index.js";
import { DENY_ALL_PROFILE } from "../../../src/felix/calc/active-rules.js";
import { CalcGraph, type CalcUpdate, policyIdKey } from "../../../src/felix/calc/index.js";
import { contribution, type IPSetSpec } from "../../../src/felix/calc/ipset-index.js";
import {
  globalNetworkPolicyToModel,
  globalNetworkSetToModel,
  hostEndpointToModel,
  networkPolicyToModel,
  profileToModel,
  workloadEndpointToModel,
} from "../../../src/felix/calc/model/resources.js";
import type { ModelPolicy, ModelProfile } from "../../../src/felix/calc/model/types.js";
import { convertRules } from "../../../src/felix/calc/rule-convert.js";
import { parseSelector } from "../../../src/selector/index.js";
import { DataplaneModel } from "./dataplane-model.js";
import { deleted, globalNetworkSet, gnp, hep, np, profile, tier, wep } from "./fixtures.js";

const HOST = "host1";
const SELECTORS = [
  "all()",
  "app == 'a'",
  "app == 'b'",
  "has(role)",
  "role != 'x'",
  "app in {'a', 'c'}",
  "!has(app)",
  "pcns.env == 'prod'",
];
const IPS = ["10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32", "fd00::1/128"];

const labels = fc.record(
  { app: fc.constantFrom("a", "b", "c"), role: fc.constantFrom("x", "y") },
  { requiredKeys: [] },
) as fc.Arbitrary<Record<string, string>>;

const portName = fc.constantFrom("http", "dns");

const entity = fc.record(
  {
    selector: fc.constantFrom(...SELECTORS),
    notSelector: fc.constantFrom(...SELECTORS),
    namespaceSelector: fc.constantFrom("all()", "env == 'prod'", "global()"),
    nets: fc.constant(["10.9.0.0/16"]),
    ports: fc.array(fc.oneof(portName, fc.constant(80)), { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: [] },
);

const rule: fc.Arbitrary<Rule> = fc
  .record(
    {
      action: fc.constantFrom("Allow", "Deny", "Pass", "Log"),
      protocol: fc.constantFrom("TCP", "UDP"),
      source: entity,
      destination: entity,
    },
    { requiredKeys: ["action"] },
  )
  .map((r) => {
    // Numeric ports need a protocol; drop them otherwise, as validation would reject the rule.
    const fix = (e: (typeof r)["source"]) => {
      if (!e?.ports || r.protocol) return e;
      const ports = e.ports.filter((p) => typeof p === "string");
      return ports.length > 0 ? { ...e, ports } : { ...e, ports: undefined };
    };
    return { ...r, source: fix(r.source), destination: fix(r.destination) } as Rule;
  });

const policyOptions = fc.record(
  {
    selector: fc.constantFrom(...SELECTORS),
    order: fc.constantFrom(1, 2),
    tier: fc.constantFrom("default", "t1", "missing"),
    ingress: fc.array(rule, { maxLength: 2 }),
    egress: fc.array(rule, { maxLength: 2 }),
    types: fc.constantFrom(["Ingress"], ["Egress"], ["Ingress", "Egress"]) as fc.Arbitrary<
      ("Ingress" | "Egress")[]
    >,
  },
  { requiredKeys: ["selector"] },
);

const ports = fc.array(
  fc.record({ name: portName, protocol: fc.constantFrom("TCP", "UDP"), port: fc.constantFrom(80, 53) }),
  { maxLength: 2 },
);

/** One generator per key of a small fixed universe; each yields that key's update. */
const KEYED: Record<string, fc.Arbitrary<CalcUpdate>> = {
  p0: policyOptions.map((o) => gnp("p0", o)),
  p1: policyOptions.map((o) => gnp("p1", o)),
  p2: policyOptions.map((o) => np("p2", "ns0", o)),
  p3: policyOptions.map((o) => np("p3", "ns1", o)),
  t1: fc.constantFrom(tier("t1", 10), tier("t1", 2_000_000, "Pass"), tier("t1")),
  tdefault: fc.constant(tier("default", 1_000_000)),
  kns0: fc
    .record({ env: fc.constantFrom("prod", "dev"), rules: fc.array(rule, { maxLength: 1 }) })
    .map((o) => profile("kns.ns0", { labels: { "pcns.env": o.env }, ingress: o.rules })),
  kns1: fc.constantFrom("prod", "dev").map((env) => profile("kns.ns1", { labels: { "pcns.env": env } })),
  ...Object.fromEntries(
    [
      ["w0", HOST, "ns0"],
      ["w1", HOST, "ns1"],
      ["w2", "host2", "ns0"],
      ["w3", "host2", "ns1"],
      ["w4", "host3", "ns0"],
    ].map(([name, node, ns]) => [
      name,
      fc.record({ labels, ips: fc.subarray(IPS, { minLength: 1, maxLength: 2 }), ports }).map((o) =>
        wep(name!, {
          node: node!,
          ns: ns!,
          labels: o.labels,
          ips: o.ips,
          ports: o.ports,
          profiles: [`kns.${ns}`],
        }),
      ),
    ]),
  ),
  h0: labels.map((l) => hep("h0", { node: HOST, ips: ["192.168.0.1"], labels: l })),
  g0: fc
    .record({ labels, nets: fc.subarray(["10.0.0.1/32", "10.7.0.0/16", "0.0.0.0/0"], { minLength: 1 }) })
    .map((o) => globalNetworkSet("g0", o.nets, o.labels)),
};
const KEYS = Object.keys(KEYED);

/** A key's final value, or its deletion. */
const finalEntry = (key: string) =>
  fc.oneof({ weight: 3, arbitrary: KEYED[key]! }, { weight: 1, arbitrary: KEYED[key]!.map(deleted) });

const scenario = fc.record({
  final: fc.tuple(...KEYS.map(finalEntry)),
  noise: fc.array(
    fc.constantFrom(...KEYS).chain((k) => finalEntry(k)),
    { maxLength: 25 },
  ),
  order: fc.array(fc.nat(), { minLength: KEYS.length, maxLength: KEYS.length }),
  flushEvery: fc.integer({ min: 1, max: 12 }),
  inSyncAt: fc.nat({ max: 40 }),
});

function run(
  updates: CalcUpdate[],
  flushEvery: number,
  inSyncAt: number,
): { graph: CalcGraph; dp: DataplaneModel } {
  const graph = new CalcGraph({ hostname: HOST });
  const dp = new DataplaneModel();
  updates.forEach((u, i) => {
    if (i === inSyncAt) graph.onStatus("InSync");
    graph.onUpdate(u);
    if ((i + 1) % flushEvery === 0) dp.apply(graph.flush());
  });
  graph.onStatus("InSync");
  dp.apply(graph.flush());
  return { graph, dp };
}

function shuffled<T>(items: T[], keys: number[]): T[] {
  return items
    .map((x, i) => [keys[i]!, i, x] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map((e) => e[2]);
}

/** Naive evaluation of what the IP sets and active policies should be for a final state. */
function bruteForce(final: CalcUpdate[]) {
  const live = final.filter((u) => u.value !== null);
  const profiles = new Map<string, ModelProfile>();
  for (const u of live)
    if (u.kind === "Profile")
      profiles.set(
        (u.value as { metadata: { name: string } }).metadata.name,
        profileToModel(u.value as never),
      );
  const effective = (own: Record<string, string>, parents: string[]) => {
    const merged: Record<string, string> = {};
    for (const p of [...parents].reverse()) Object.assign(merged, profiles.get(p)?.labels ?? {});
    return { ...merged, ...own };
  };
  const contributors: {
    nets: string[];
    ports: { name: string; protocol: string; port: number }[];
    labels: Record<string, string>;
    local: boolean;
  }[] = [];
  const policies: ModelPolicy[] = [];
  for (const u of live) {
    if (u.kind === "WorkloadEndpoint") {
      const w = workloadEndpointToModel(u.value as never)!;
      contributors.push({
        nets: [...w.ipv4Nets, ...w.ipv6Nets],
        ports: w.ports,
        labels: effective(w.labels, w.profileIds),
        local: w.hostname === HOST,
      });
    } else if (u.kind === "HostEndpoint") {
      const h = hostEndpointToModel(u.value as never);
      contributors.push({
        nets: h.expectedIpv4.map((ip) => `${ip}/32`),
        ports: h.ports,
        labels: effective(h.labels, h.profileIds),
        local: h.hostname === HOST,
      });
    } else if (u.kind === "GlobalNetworkSet") {
      const g = globalNetworkSetToModel(u.value as never);
      contributors.push({ nets: g.nets, ports: [], labels: g.labels, local: false });
    } else if (u.kind === "NetworkPolicy") {
      policies.push(networkPolicyToModel(u.value as never));
    } else if (u.kind === "GlobalNetworkPolicy") {
      policies.push(globalNetworkPolicyToModel(u.value as never));
    }
  }
  const active = policies.filter((p) =>
    contributors.some((c) => c.local && parseSelector(p.selector).matches(c.labels)),
  );
  const specs = new Map<string, IPSetSpec>();
  for (const p of active) {
    convertRules(p.inbound, "x", specs);
    convertRules(p.outbound, "x", specs);
  }
  const usedProfiles = new Set<string>();
  for (const u of live) {
    if (u.kind !== "WorkloadEndpoint" && u.kind !== "HostEndpoint") continue;
    const spec = (u.value as { spec: { node: string; profiles?: string[] } }).spec;
    if (spec.node === HOST) for (const p of spec.profiles ?? []) usedProfiles.add(p);
  }
  for (const name of usedProfiles) {
    const rules = profiles.get(name) ?? DENY_ALL_PROFILE;
    convertRules(rules.inbound, "x", specs);
    convertRules(rules.outbound, "x", specs);
  }
  const members = new Map<string, string[]>();
  for (const [id, spec] of specs) {
    const set = new Set<string>();
    for (const c of contributors)
      if (spec.selector.matches(c.labels)) for (const m of contribution(spec, c)) set.add(m);
    members.set(id, [...set].sort());
  }
  return { activePolicies: active.map((p) => policyIdKey(p.id)).sort(), members };
}

describe("calc graph properties", () => {
  it("reaches the same dataplane state whatever the update order, and matches brute force", () => {
    fc.assert(
      fc.property(scenario, ({ final, noise, order, flushEvery, inSyncAt }) => {
        const reference = run(final, final.length + 1, 0).dp;
        const messy = run([...noise, ...shuffled(final, order)], flushEvery, inSyncAt).dp;
        expect(messy.snapshot()).toEqual(reference.snapshot());

        const expected = bruteForce(final);
        expect([...reference.policies.keys()].sort()).toEqual(expected.activePolicies);
        const actual = new Map([...reference.ipSets].map(([id, s]) => [id, [...s.members].sort()]));
        expect(actual).toEqual(expected.members);
      }),
      { numRuns: 150 },
    );
  });

  it("tears everything down when every resource is deleted", () => {
    fc.assert(
      fc.property(
        fc.tuple(...KEYS.map((k) => KEYED[k]!)),
        fc.array(fc.nat(), { minLength: KEYS.length, maxLength: KEYS.length }),
        (all, order) => {
          const graph = new CalcGraph({ hostname: HOST });
          const dp = new DataplaneModel();
          graph.onStatus("InSync");
          graph.onUpdates(all);
          dp.apply(graph.flush());
          graph.onUpdates(shuffled(all.map(deleted), order));
          dp.apply(graph.flush());
          expect(
            dp.ipSets.size + dp.policies.size + dp.profiles.size + dp.workloads.size + dp.hosts.size,
          ).toBe(0);
        },
      ),
      { numRuns: 50 },
    );
  });
});
