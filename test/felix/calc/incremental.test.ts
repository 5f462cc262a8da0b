/**
 * The incremental graph against a naive evaluation, step by step. Random label and policy
 * changes are applied one at a time (flushed after each, as Felix does under light load, or in
 * small batches), with few or many warm IP sets, so policies and their sets go inactive and come
 * back from the caches. After every flush the dataplane must equal (1) what a fresh graph
 * computes from the current resources alone and (2) a naive evaluation: every active IP set's
 * members by testing its selector against every endpoint, and the active policies by testing each
 * policy's selector against every local endpoint.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Rule } from "../../../src/api/index.js";
import { CalcGraph, type CalcUpdate, policyIdKey } from "../../../src/felix/calc/index.js";
import { contribution, type IPSetSpec } from "../../../src/felix/calc/ipset-index.js";
import {
  globalNetworkPolicyToModel,
  networkPolicyToModel,
  profileToModel,
  workloadEndpointToModel,
} from "../../../src/felix/calc/model/resources.js";
import type { ModelPolicy } from "../../../src/felix/calc/model/types.js";
import { convertRules } from "../../../src/felix/calc/rule-convert.js";
import { parseSelector } from "../../../src/selector/index.js";
import { DataplaneModel } from "./dataplane-model.js";
import { deleted, gnp, np, type PolicyOptions, profile, wep } from "./fixtures.js";

const HOST = "host1";
const SELECTORS = ["app == 'a'", "app == 'b'", "app in {'a', 'c'}", "has(role)", "role == 'x' && app != 'b'"];
const PEER_SELECTORS = [...SELECTORS, "pcns.env == 'prod'", "all()", "!has(app)"];

const PROFILES: CalcUpdate[] = [
  profile("kns.ns0", { labels: { "pcns.env": "prod" }, ingress: [{ action: "Allow" }] }),
  profile("kns.ns1", { labels: { "pcns.env": "dev" }, ingress: [{ action: "Allow" }] }),
];

/** name → node, namespace, address: three local endpoints and three remote ones. */
const ENDPOINTS: [string, string, string, string][] = [
  ["w0", HOST, "ns0", "10.0.0.1/32"],
  ["w1", HOST, "ns1", "10.0.0.2/32"],
  ["w2", HOST, "ns0", "10.0.0.3/32"],
  ["w3", "host2", "ns0", "10.0.1.1/32"],
  ["w4", "host2", "ns1", "10.0.1.2/32"],
  ["w5", "host3", "ns0", "10.0.2.1/32"],
];

const labels = fc.record(
  { app: fc.constantFrom("a", "b", "c"), role: fc.constantFrom("x", "y") },
  { requiredKeys: [] },
) as fc.Arbitrary<Record<string, string>>;

function endpoint(index: number, l: Record<string, string>): CalcUpdate {
  const [name, node, ns, ip] = ENDPOINTS[index]!;
  return wep(name, {
    node,
    ns,
    labels: l,
    ips: [ip],
    ports: index % 2 === 0 ? [{ name: "http", protocol: "TCP", port: 8080 }] : [],
    profiles: [`kns.${ns}`],
  });
}

const peer = fc.record(
  { selector: fc.constantFrom(...PEER_SELECTORS), ports: fc.constantFrom(undefined, ["http"], [80]) },
  { requiredKeys: ["selector"] },
);

const rule: fc.Arbitrary<Rule> = fc
  .record({ action: fc.constantFrom("Allow", "Deny"), source: peer, destination: peer })
  .map((r) => ({ ...r, protocol: "TCP" }) as Rule);

const policyOptions = fc.record({
  selector: fc.constantFrom(...SELECTORS),
  order: fc.constantFrom(1, 2),
  ingress: fc.array(rule, { maxLength: 2 }),
  egress: fc.array(rule, { maxLength: 1 }),
});

const POLICIES: ((o: PolicyOptions) => CalcUpdate)[] = [
  (o) => gnp("p0", o),
  (o) => gnp("p1", o),
  (o) => np("p2", "ns0", o),
  (o) => np("p3", "ns1", o),
];

const step = fc.record({
  change: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(fc.nat({ max: ENDPOINTS.length - 1 }), labels).map(([i, l]) => endpoint(i, l)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.nat({ max: POLICIES.length - 1 }), policyOptions)
        .map(([i, o]) => POLICIES[i]!(o)),
    },
    {
      weight: 1,
      arbitrary: fc.nat({ max: POLICIES.length - 1 }).map((i) => deleted(POLICIES[i]!({}))),
    },
  ),
  flush: fc.boolean(),
});

const scenario = fc.record({
  initialLabels: fc.array(labels, { minLength: ENDPOINTS.length, maxLength: ENDPOINTS.length }),
  initialPolicies: fc.array(policyOptions, { minLength: POLICIES.length, maxLength: POLICIES.length }),
  steps: fc.array(step, { minLength: 1, maxLength: 30 }),
  warmIPSets: fc.constantFrom(0, 1, 3, 1024),
});

function fromScratch(current: Iterable<CalcUpdate>): DataplaneModel {
  const graph = new CalcGraph({ hostname: HOST });
  graph.onUpdates(current);
  graph.onStatus("InSync");
  const dp = new DataplaneModel();
  dp.apply(graph.flush());
  return dp;
}

/** What the IP sets and active policies must be, by testing every selector against everything. */
function naive(current: Iterable<CalcUpdate>) {
  const live = [...current].filter((u) => u.value !== null);
  const profileLabels = new Map(
    live
      .filter((u) => u.kind === "Profile")
      .map((u) => profileToModel(u.value as never))
      .map((p) => [p.name, p.labels] as const),
  );
  const endpoints = live
    .filter((u) => u.kind === "WorkloadEndpoint")
    .map((u) => workloadEndpointToModel(u.value as never)!)
    .map((w) => ({
      nets: w.ipv4Nets,
      ports: w.ports,
      local: w.hostname === HOST,
      labels: { ...profileLabels.get(w.profileIds[0]!), ...w.labels },
      profiles: w.profileIds,
    }));
  const policies: ModelPolicy[] = live.flatMap((u) => {
    if (u.kind === "NetworkPolicy") return [networkPolicyToModel(u.value as never)];
    if (u.kind === "GlobalNetworkPolicy") return [globalNetworkPolicyToModel(u.value as never)];
    return [];
  });
  const active = policies.filter((p) =>
    endpoints.some((e) => e.local && parseSelector(p.selector).matches(e.labels)),
  );
  const specs = new Map<string, IPSetSpec>();
  for (const p of active) {
    convertRules(p.inbound, "x", specs);
    convertRules(p.outbound, "x", specs);
  }
  for (const name of new Set(endpoints.filter((e) => e.local).flatMap((e) => e.profiles))) {
    const p = live.find((u) => u.kind === "Profile" && profileToModel(u.value as never).name === name);
    if (!p) continue;
    const model = profileToModel(p.value as never);
    convertRules(model.inbound, "x", specs);
    convertRules(model.outbound, "x", specs);
  }
  const members = new Map<string, string[]>();
  for (const [id, spec] of specs) {
    const set = new Set<string>();
    for (const e of endpoints)
      if (spec.selector.matches(e.labels)) for (const m of contribution(spec, e)) set.add(m);
    members.set(id, [...set].sort());
  }
  return { activePolicies: active.map((p) => policyIdKey(p.id)).sort(), members };
}

describe("incremental calc graph", () => {
  it("after every flush, equals a fresh graph and a naive evaluation, whatever the warm-set bound", () => {
    fc.assert(
      fc.property(scenario, ({ initialLabels, initialPolicies, steps, warmIPSets }) => {
        const current = new Map<string, CalcUpdate>();
        const put = (u: CalcUpdate) => {
          current.set(u.key, u);
        };
        for (const p of PROFILES) put(p);
        for (const [i, l] of initialLabels.entries()) put(endpoint(i, l));
        for (const [i, o] of initialPolicies.entries()) put(POLICIES[i]!(o));

        const graph = new CalcGraph({ hostname: HOST, warmIPSets });
        const dp = new DataplaneModel();
        graph.onUpdates(current.values());
        graph.onStatus("InSync");
        dp.apply(graph.flush());

        steps.forEach(({ change, flush }, n) => {
          put(change);
          graph.onUpdate(change);
          if (!flush && n < steps.length - 1) return;
          dp.apply(graph.flush());
          expect(dp.snapshot()).toEqual(fromScratch(current.values()).snapshot());
          const expected = naive(current.values());
          expect([...dp.policies.keys()].sort()).toEqual(expected.activePolicies);
          expect(new Map([...dp.ipSets].map(([id, s]) => [id, [...s.members].sort()]))).toEqual(
            expected.members,
          );
        });
      }),
      { numRuns: 100 },
    );
  });
});
