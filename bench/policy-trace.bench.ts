/**
 * Policy trace latency with 1,000 policies, beside the same cluster with 10: cold (a new tracer:
 * both hosts' calculation graphs built from the datastore contents, then one trace) and warm
 * (further traces on the same tracer, once it holds every host's view). 200 pods on 4 hosts in 20 namespaces; a tenth of the
 * policies select every pod, so each chain the trace walks holds about a tenth of them.
 */
import type { Rule } from "../src/api/index.js";
import type { CalcUpdate } from "../src/felix/calc/index.js";
import { PolicyTracer } from "../src/felix/trace/index.js";
import { gnp, np, profile, tier, wep } from "../test/felix/calc/fixtures.js";
import { prng } from "../test/support/prng.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const PODS = 200;
const HOSTS = 4;
const NAMESPACES = 20;
const APPS = 40;
const TIERS = ["security", "platform", "default"];

function cluster(policies: number, seed: number): CalcUpdate[] {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const out: CalcUpdate[] = [tier("security", 100), tier("platform", 200, "Pass"), tier("default")];
  for (let n = 0; n < NAMESPACES; n++)
    out.push(profile(`kns.ns${n}`, { ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }] }));
  for (let i = 0; i < PODS; i++) {
    const ns = `ns${i % NAMESPACES}`;
    out.push(
      wep(`pod${i}`, {
        ns,
        node: `host${i % HOSTS}`,
        ips: [`10.65.${Math.floor(i / 250)}.${(i % 250) + 1}/32`],
        labels: { app: `app${int(APPS)}`, tier: ["fe", "be", "db"][int(3)]! },
        profiles: [`kns.${ns}`],
        ports: [{ name: "http", protocol: "TCP", port: 8080 }],
      }),
    );
  }
  for (let p = 0; p < policies; p++) {
    const rules: Rule[] = [
      {
        action: "Deny",
        protocol: "TCP",
        source: { selector: `app == 'app${int(APPS)}'` },
        destination: { ports: [22] },
      },
      { action: "Pass", source: { notSelector: `tier == 'db'`, notNets: ["192.168.0.0/16"] } },
      {
        action: "Allow",
        protocol: "TCP",
        source: { selector: `tier == 'fe'` },
        destination: { ports: ["http", 443] },
      },
    ];
    const selector = p % 10 === 0 ? "all()" : `app == 'app${int(APPS)}'`;
    const t = TIERS[p % 3]!;
    const o = { tier: t, order: int(1000), selector, ingress: rules, egress: rules };
    out.push(
      p % 2 === 0
        ? gnp(`${t}.g${p}`, o)
        : np(`${t === "default" ? "" : `${t}.`}n${p}`, `ns${p % NAMESPACES}`, o),
    );
  }
  return out;
}

function ms(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

const request = (i: number) => ({
  source: `ns${i % NAMESPACES}/pod${i}`,
  destination: `ns${(i + 7) % NAMESPACES}/pod${(i + 7) % PODS}`,
  port: 8080,
});

const bench: BenchModule = {
  title: "Policy trace latency: 1,000 policies vs 10",
  async run(): Promise<Figure[]> {
    const big = cluster(1_000, 1);
    const small = cluster(10, 1);
    const cold: Record<"big" | "small", number[]> = { big: [], small: [] };
    const warm: Record<"big" | "small", number[]> = { big: [], small: [] };
    // Interleaved, so load on the machine hits both sides alike.
    for (let round = 0; round < 5; round++)
      for (const [name, updates] of [
        ["small", small],
        ["big", big],
      ] as const) {
        let tracer: PolicyTracer | undefined;
        cold[name].push(
          ms(() => {
            tracer = new PolicyTracer(updates);
            tracer.trace(request(round));
          }),
        );
        // Warm means every host's view is built: one untimed trace from each host first.
        for (let h = 0; h < HOSTS; h++) tracer!.trace(request(h));
        for (let i = 0; i < 40; i++) warm[name].push(ms(() => tracer!.trace(request(i * 4 + (round % 4)))));
      }
    const steps = new PolicyTracer(big).trace(request(0)).directions.reduce((n, d) => n + d.steps.length, 0);
    const fig = (name: string, samples: number[], base: number[], baseName: string, q: "median" | "p99") => ({
      name,
      value: percentiles(samples)[q],
      unit: "ms",
      baseline: { name: baseName, value: percentiles(base)[q] },
    });
    return [
      fig("cold trace, 1,000 policies (median)", cold.big, cold.small, "10 policies", "median"),
      fig("warm trace, 1,000 policies (median)", warm.big, warm.small, "10 policies", "median"),
      fig("warm trace, 1,000 policies (p99)", warm.big, warm.small, "10 policies", "p99"),
      {
        name: "steps in one trace, 1,000 policies",
        value: steps,
        unit: "steps",
        baseline: {
          name: "10 policies",
          value: new PolicyTracer(small).trace(request(0)).directions.reduce((n, d) => n + d.steps.length, 0),
        },
      },
    ];
  },
};

export default bench;
