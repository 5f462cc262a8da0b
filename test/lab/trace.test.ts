/**
 * The policy trace against the real dataplane, on one lab: random pod labels, Calico policies in
 * two tiers (Pass, Deny, a tier whose default is Pass), Kubernetes NetworkPolicies, namespace
 * profiles with their own rules, named ports, selectors, nets and their negations. For every
 * source, destination and port the trace's verdict must equal what a real connection does.
 */
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdKV } from "../../src/datastore/index.js";
import { formatTrace, PolicyTracer, readFelixSnapshot } from "../../src/felix/trace/index.js";
import { POD_CIDR } from "../../src/lab/index.js";
import { reachableFrom } from "../../src/lab/trace.js";
import { run } from "../../src/lib/exec.js";
import { LabCli } from "./cli.js";

const ROOT = join(import.meta.dirname, "../..");
const PODS = ["a/p1", "a/p2", "b/p3", "b/p4"] as const;
const PORTS = [80, 81, 8080] as const;
let cli: LabCli;
let etcd: string;
const ips: Record<string, string> = {};

beforeAll(async () => {
  cli = await LabCli.create("trc");
  await cli.ok("up", "--nodes", "2");
  await cli.ok("namespace", "create", "a", "--labels", "team=a");
  await cli.ok("namespace", "create", "b", "--labels", "team=b");
  for (const [i, ref] of PODS.entries()) {
    const out = await cli.ok(
      "pod",
      "create",
      ref,
      "--node",
      `node${(i % 2) + 1}`,
      "--serve",
      "tcp:80:http,tcp:81,tcp:8080:alt",
    );
    ips[ref] = out.trim().split(" ")[2]!;
  }
  etcd = /ETCD_ENDPOINTS=(\S+)/.exec(await cli.ok("env"))![1]!;
}, 300_000);

afterAll(async () => {
  await cli?.down();
});

// ---- scenarios ----

const SELECTORS = [
  "all()",
  "role == 'fe'",
  "role == 'be'",
  "role == 'db'",
  "has(x)",
  "!has(x)",
  "role != 'db'",
  "role in {'fe', 'be'}",
];
const PORT_VALUES = [80, 81, 8080, "http", "alt", "79:81", "8000:9000"];
/** Indexes into the pods' addresses, or the whole pod CIDR. */
const NETS = [0, 1, 2, 3, "pool"] as const;

interface Entity {
  selector?: string;
  notSelector?: string;
  ports?: (number | string)[];
  notPorts?: (number | string)[];
  nets?: (typeof NETS)[number];
  notNets?: (typeof NETS)[number];
}

interface RuleSpec {
  action: "Allow" | "Deny" | "Pass";
  protocol?: "TCP" | "UDP";
  source: Entity;
  destination: Entity;
}

interface PolicySpec {
  kind: "gnp" | "np" | "knp";
  tier: "security" | "default";
  ns: "a" | "b";
  order: number;
  selector: string;
  types: ("Ingress" | "Egress")[];
  ingress: RuleSpec[];
  egress: RuleSpec[];
  /** Kubernetes policies: the peer and port of their single rule per direction. */
  knpPeer: "pod" | "namespace" | "any";
  knpPort?: 80 | "http" | 8080;
}

interface Scenario {
  labels: { role: string; x: boolean }[];
  tierDefault: "Deny" | "Pass";
  policies: PolicySpec[];
  profileB: "allow" | "deny-db" | "port-80";
}

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
const entity: fc.Arbitrary<Entity> = fc.record(
  {
    selector: opt(fc.constantFrom(...SELECTORS)),
    notSelector: opt(fc.constantFrom(...SELECTORS)),
    ports: opt(fc.array(fc.constantFrom(...PORT_VALUES), { minLength: 1, maxLength: 2 })),
    notPorts: opt(fc.array(fc.constantFrom(...PORT_VALUES), { minLength: 1, maxLength: 2 })),
    nets: opt(fc.constantFrom(...NETS)),
    notNets: opt(fc.constantFrom(...NETS)),
  },
  { requiredKeys: [] },
);
const rule: fc.Arbitrary<RuleSpec> = fc.record({
  action: fc.constantFrom("Allow", "Allow", "Deny", "Pass"),
  protocol: opt(fc.constantFrom("TCP", "TCP", "UDP")),
  // Source ports of a probe are ephemeral: only destinations get ports.
  source: entity.map(({ ports: _p, notPorts: _n, ...rest }) => rest),
  destination: entity,
});
const policy: fc.Arbitrary<PolicySpec> = fc.record({
  kind: fc.constantFrom("gnp", "np", "knp"),
  tier: fc.constantFrom("security", "default"),
  ns: fc.constantFrom("a", "b"),
  order: fc.integer({ min: 1, max: 3 }),
  selector: fc.constantFrom(...SELECTORS),
  types: fc.constantFrom(["Ingress"], ["Egress"], ["Ingress", "Egress"]) as fc.Arbitrary<
    ("Ingress" | "Egress")[]
  >,
  ingress: fc.array(rule, { maxLength: 3 }),
  egress: fc.array(rule, { maxLength: 3 }),
  knpPeer: fc.constantFrom("pod", "namespace", "any"),
  knpPort: opt(fc.constantFrom<80 | "http" | 8080>(80, "http", 8080)),
});
const scenario: fc.Arbitrary<Scenario> = fc.record({
  labels: fc.array(fc.record({ role: fc.constantFrom("fe", "be", "db"), x: fc.boolean() }), {
    minLength: PODS.length,
    maxLength: PODS.length,
  }),
  tierDefault: fc.constantFrom("Deny", "Pass"),
  policies: fc.array(policy, { minLength: 1, maxLength: 4 }),
  profileB: fc.constantFrom("allow", "deny-db", "port-80"),
});

function netOf(n: (typeof NETS)[number]): string {
  return n === "pool" ? POD_CIDR : `${ips[PODS[n]]}/32`;
}

function entityJson(e: Entity): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (e.selector) out.selector = e.selector;
  if (e.notSelector) out.notSelector = e.notSelector;
  if (e.ports) out.ports = e.ports;
  if (e.notPorts) out.notPorts = e.notPorts;
  if (e.nets !== undefined) out.nets = [netOf(e.nets)];
  if (e.notNets !== undefined) out.notNets = [netOf(e.notNets)];
  return out;
}

function ruleJson(r: RuleSpec): Record<string, unknown> {
  const hasPorts = r.destination.ports || r.destination.notPorts;
  const out: Record<string, unknown> = { action: r.action };
  const protocol = r.protocol ?? (hasPorts ? "TCP" : undefined);
  if (protocol) out.protocol = protocol;
  out.source = entityJson(r.source);
  out.destination = entityJson(r.destination);
  return out;
}

function knpJson(p: PolicySpec, name: string): Record<string, unknown> {
  const role = p.selector.match(/^role == '(\w+)'$/)?.[1];
  const peer =
    p.knpPeer === "pod"
      ? [{ podSelector: { matchLabels: { role: "fe" } } }]
      : p.knpPeer === "namespace"
        ? [{ namespaceSelector: { matchLabels: { team: "a" } } }]
        : undefined;
  const rule = (side: "from" | "to") => ({
    ...(peer ? { [side]: peer } : {}),
    ...(p.knpPort !== undefined ? { ports: [{ protocol: "TCP", port: p.knpPort }] } : {}),
  });
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: p.ns },
    spec: {
      podSelector: role ? { matchLabels: { role } } : {},
      policyTypes: p.types,
      ...(p.types.includes("Ingress") ? { ingress: [rule("from")] } : {}),
      ...(p.types.includes("Egress") ? { egress: [rule("to")] } : {}),
    },
  };
}

function policyJson(p: PolicySpec, i: number): Record<string, unknown> {
  if (p.kind === "knp") return knpJson(p, `k${i}`);
  const name = p.tier === "security" ? `security.p${i}` : `p${i}`;
  const spec = {
    tier: p.tier,
    order: p.order,
    selector: p.selector,
    types: p.types,
    ...(p.types.includes("Ingress") ? { ingress: p.ingress.map(ruleJson) } : {}),
    ...(p.types.includes("Egress") ? { egress: p.egress.map(ruleJson) } : {}),
  };
  return p.kind === "gnp"
    ? { apiVersion: "projectcalico.org/v3", kind: "GlobalNetworkPolicy", metadata: { name }, spec }
    : {
        apiVersion: "projectcalico.org/v3",
        kind: "NetworkPolicy",
        metadata: { name, namespace: p.ns },
        spec,
      };
}

function profileJson(kind: Scenario["profileB"]): Record<string, unknown> {
  const rules =
    kind === "allow"
      ? [{ action: "Allow" }]
      : kind === "deny-db"
        ? [{ action: "Deny", source: { selector: "role == 'db'" } }, { action: "Allow" }]
        : [{ action: "Allow", protocol: "TCP", destination: { ports: [80] } }];
  return {
    apiVersion: "projectcalico.org/v3",
    kind: "Profile",
    metadata: { name: "kns.b" },
    spec: {
      ingress: rules,
      egress: [{ action: "Allow" }],
      labelsToApply: { "pcns.projectcalico.org/name": "b", "pcns.team": "b" },
    },
  };
}

/** JSON documents are YAML too: one per line keeps the file readable in a failure message. */
const docs = (objs: Record<string, unknown>[]) => objs.map((o) => JSON.stringify(o)).join("\n---\n");

// ---- probing ----

async function probe(from: string, to: string, port: number): Promise<string> {
  const out = await cli.inNetns(cli.podNetns(from), [
    process.execPath,
    join(ROOT, "dist/lab/pod-probe.js"),
    "tcp",
    ips[to]!,
    String(port),
    "1000",
  ]);
  if (out.code !== 0) throw new Error(`probe ${from} -> ${to}:${port} failed: ${out.stderr}`);
  return out.stdout.trim();
}

async function inBatches<T, R>(items: T[], size: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

async function tracer(): Promise<PolicyTracer> {
  const kv = new EtcdKV({ endpoints: [etcd] });
  try {
    return new PolicyTracer(await readFelixSnapshot(kv));
  } finally {
    await kv.close();
  }
}

/** calicoctl against the lab's etcd (as `calico-lab env` points it), on a file holding `yaml`. */
async function calicoctl(verb: "apply" | "delete", yaml: string): Promise<void> {
  const file = join(tmpdir(), `cts-trace-${process.pid}-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  try {
    const out = await run(process.execPath, [join(ROOT, "bin/calicoctl"), verb, "-f", file], {
      env: { ...cli.env, DATASTORE_TYPE: "etcdv3", ETCD_ENDPOINTS: etcd },
    });
    if (out.code !== 0) throw new Error(`calicoctl ${verb} failed: ${out.stderr}\n${yaml}`);
  } finally {
    await rm(file);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("calico-lab trace", () => {
  it("prints the trace and the probe, exits 0 when they agree and 2 on bad input", async () => {
    await cli.apply(
      docs([
        {
          apiVersion: "projectcalico.org/v3",
          kind: "NetworkPolicy",
          metadata: { name: "only-http", namespace: "a" },
          spec: {
            selector: "all()",
            types: ["Ingress"],
            ingress: [{ action: "Allow", protocol: "TCP", destination: { ports: ["http"] } }],
          },
        },
      ]),
    );
    await sleep(2_000);
    const ok = await cli.run("trace", "b/p3", "a/p2", "--port", "80");
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("Verdict: ALLOW");
    expect(ok.stdout).toMatch(/np\/a\/only-http\s+allow\s+#0 Allow protocol=TCP destination\.ports=\[http\]/);
    expect(ok.stdout).toContain("b/p3 -> a/p2 tcp/80: open (reachable)");
    expect(ok.stdout).toContain("Trace and probe agree.");
    const denied = await cli.run("trace", "b/p3", "a/p2", "--port", "81", "--json");
    expect(denied.code).toBe(0);
    expect(JSON.parse(denied.stdout)).toMatchObject({
      probe: "timeout",
      agree: true,
      trace: { verdict: "deny" },
    });
    for (const [args, message] of [
      [["a/nope", "a/p2", "--port", "80"], "no pod or node 'a/nope'"],
      [["b/p3", "a/p2", "--port", "70000"], "port '70000' is out of range"],
      [["b/p3", "a/p2", "--port", "80", "--protocol", "gre"], "--protocol must be tcp or udp"],
    ] as const) {
      const bad = await cli.run("trace", ...args);
      expect(bad.code, args.join(" ")).toBe(2);
      expect(bad.stderr).toContain(message);
    }
    await cli.apply(
      docs([
        {
          apiVersion: "projectcalico.org/v3",
          kind: "NetworkPolicy",
          metadata: { name: "only-http", namespace: "a" },
        },
      ]),
      "delete",
    );
  }, 120_000);

  it("agrees with a real probe for random policies, labels and profiles, every time", async () => {
    let applied = "";
    let checked = 0;
    const podLabels: Record<string, string> = {};
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        if (applied) await calicoctl("delete", applied);
        const policies = docs(sc.policies.map(policyJson));
        // The tier first: the policies in it need it to exist.
        const tierAndProfile = docs([
          {
            apiVersion: "projectcalico.org/v3",
            kind: "Tier",
            metadata: { name: "security" },
            spec: { order: 100, defaultAction: sc.tierDefault },
          },
          profileJson(sc.profileB),
        ]);
        await calicoctl("apply", `${tierAndProfile}\n---\n${policies}`);
        applied = policies;
        for (const [i, ref] of PODS.entries()) {
          const l = sc.labels[i]!;
          const text = `role=${l.role} x=${l.x}`;
          if (podLabels[ref] === text) continue;
          await cli.ok("pod", "label", ref, `role=${l.role}`, ...(l.x ? ["x=1"] : ["x-"]));
          podLabels[ref] = text;
        }
        const t = await tracer();
        const triples = PODS.flatMap((from) =>
          PODS.filter((to) => to !== from).flatMap((to) => PORTS.map((port) => ({ from, to, port }))),
        );
        const expected = new Map(
          triples.map((x) => [x, t.trace({ source: x.from, destination: x.to, port: x.port })] as const),
        );
        // Felix programs the change within moments; a disagreement must survive a second look.
        await sleep(2_000);
        const first = await inBatches(triples, 12, (x) => probe(x.from, x.to, x.port));
        let wrong = triples.filter(
          (x, i) => reachableFrom("tcp", first[i]!) !== (expected.get(x)!.verdict === "allow"),
        );
        if (wrong.length > 0) {
          await sleep(5_000);
          const again = await inBatches(wrong, 12, (x) => probe(x.from, x.to, x.port));
          wrong = wrong.filter(
            (x, i) => reachableFrom("tcp", again[i]!) !== (expected.get(x)!.verdict === "allow"),
          );
        }
        checked += triples.length;
        if (wrong.length > 0) {
          const x = wrong[0]!;
          throw new Error(
            `${wrong.length} of ${triples.length} disagree, e.g. ${x.from} -> ${x.to}:${x.port}\n` +
              `${formatTrace(expected.get(x)!)}\nlabels ${JSON.stringify(sc.labels)} profile ${sc.profileB}\n${policies}`,
          );
        }
      }),
      { numRuns: 6, endOnFailure: true },
    );
    expect(checked).toBe(6 * 36);
  }, 600_000);
});
