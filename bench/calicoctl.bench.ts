/**
 * calicoctl against a real etcd: `apply -f` of 1,000 NetworkPolicies (first as creates, then as
 * updates of the same objects), and start-up time. Baselines measured in the same run: 1,000
 * sequential etcd puts of the same JSON through the etcd3 client (the least a tool that writes
 * 1,000 objects one by one can cost), and `node -e 0`.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { applyDefaults, canonicalize, type Resource } from "../src/api/index.js";
import { BIN, ensureBuilt } from "../test/calicoctl/cli.js";
import { startEtcd } from "../test/support/etcd.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const POLICIES = 1000;
const STARTUP_RUNS = 15;

function policy(i: number): Resource {
  return {
    apiVersion: "projectcalico.org/v3",
    kind: "NetworkPolicy",
    metadata: { name: `allow-${i}`, namespace: "bench" },
    spec: {
      order: 100 + i,
      selector: `app == 'svc-${i}'`,
      ingress: [
        {
          action: "Allow",
          protocol: "TCP",
          source: { selector: `role == 'client-${i % 10}'` },
          destination: { ports: [80, 443] },
        },
      ],
      egress: [{ action: "Allow" }],
    },
  };
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const start = performance.now();
  const res = spawnSync(command, args, { env, encoding: "utf8" });
  const ms = performance.now() - start;
  if (res.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${res.stderr}`);
  return ms;
}

/** 1,000 sequential puts of each policy's stored JSON. */
async function rawPuts(endpoint: string, prefix: string, values: string[]): Promise<number> {
  const start = performance.now();
  const client = new Etcd3({ hosts: endpoint });
  for (const [i, value] of values.entries()) await client.put(`${prefix}/allow-${i}`).value(value);
  client.close();
  return performance.now() - start;
}

async function run(): Promise<Figure[]> {
  const [etcd] = await Promise.all([startEtcd(), ensureBuilt()]);
  const dir = await mkdtemp(join(tmpdir(), "calicoctl-bench-"));
  try {
    const policies = Array.from({ length: POLICIES }, (_, i) => policy(i));
    const file = join(dir, "policies.yaml");
    await writeFile(file, policies.map((p) => JSON.stringify(p)).join("\n---\n"));
    const values = policies.map((p) => JSON.stringify(canonicalize(applyDefaults(p))));
    const env = { ...process.env, ETCD_ENDPOINTS: etcd.endpoint };

    const putsMs = await rawPuts(etcd.endpoint, "/bench/raw", values);
    const createMs = timed(BIN, ["apply", "-f", file], env);
    const putsAgainMs = await rawPuts(etcd.endpoint, "/bench/raw", values);
    const updateMs = timed(BIN, ["apply", "-f", file], env);

    const startup = percentiles(
      Array.from({ length: STARTUP_RUNS }, () => timed(BIN, ["version", "--client"])),
    );
    const node = percentiles(
      Array.from({ length: STARTUP_RUNS }, () => timed(process.execPath, ["-e", "0"])),
    );

    const baseline = (ms: number) => ({ name: `${POLICIES} etcd puts`, value: ms });
    const perOp = (ms: number) => (ms * 1000) / POLICIES;
    return [
      {
        name: `calicoctl apply -f, ${POLICIES} new NetworkPolicies`,
        value: createMs,
        unit: "ms",
        baseline: baseline(putsMs),
      },
      {
        name: "  per resource (create path)",
        value: perOp(createMs),
        unit: "µs/op",
        baseline: { name: "etcd put", value: perOp(putsMs) },
      },
      {
        name: `calicoctl apply -f, ${POLICIES} existing NetworkPolicies`,
        value: updateMs,
        unit: "ms",
        baseline: baseline(putsAgainMs),
      },
      {
        name: "  per resource (create refused, then replace)",
        value: perOp(updateMs),
        unit: "µs/op",
        baseline: { name: "etcd put", value: perOp(putsAgainMs) },
      },
      {
        name: "calicoctl version --client start-up (median)",
        value: startup.median,
        unit: "ms",
        baseline: { name: "node -e 0", value: node.median },
      },
    ];
  } finally {
    await Promise.all([etcd.stop(), rm(dir, { recursive: true, force: true })]);
  }
}

export default { title: "calicoctl (real etcd, subprocess)", run } satisfies BenchModule;
