/**
 * The lab at scale: `calico-lab up` for 3 and 10 nodes, against creating the same bare
 * namespaces and links without Calico; and the time from `pod create` on one node until a pod on
 * every other node reaches it (goal ≤ 1 s), median and p99 over 50 pods, against the CNI ADD
 * alone (the part of it that is the plugin). In a dual-stack lab (`up --ipv6`), the same time
 * until every other node reaches the pod over IPv6, beside the time over IPv4 for the same pods.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Lab } from "../src/lab/index.js";
import { labPaths } from "../src/lab/state.js";
import { run, runOk } from "../src/lib/exec.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const quiet = () => undefined;

async function bareNamespaces(prefix: string, n: number): Promise<number> {
  const t0 = performance.now();
  await runOk("ip", ["netns", "add", `${prefix}-f`]);
  await runOk("ip", ["-n", `${prefix}-f`, "link", "add", "br0", "type", "bridge"]);
  for (let i = 1; i <= n; i++) {
    await runOk("ip", ["netns", "add", `${prefix}-${i}`]);
    await runOk("ip", [
      "-n",
      `${prefix}-f`,
      "link",
      "add",
      "name",
      `n${i}`,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      `${prefix}-${i}`,
    ]);
  }
  const ms = performance.now() - t0;
  for (let i = 1; i <= n; i++) await run("ip", ["netns", "del", `${prefix}-${i}`]);
  await run("ip", ["netns", "del", `${prefix}-f`]);
  return ms;
}

async function withLab<T>(prefix: string, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "cts-blab-"));
  const lab = new Lab(labPaths({ CALICO_LAB_DIR: join(dir, "lab"), CALICO_LAB_PREFIX: prefix }));
  try {
    return await fn(lab);
  } finally {
    await lab.down(quiet);
    await rm(dir, { recursive: true, force: true });
  }
}

async function upTime(nodes: number): Promise<Figure> {
  const ms = await withLab(`cbl${nodes}`, async (lab) => {
    const t0 = performance.now();
    await lab.up(nodes, quiet);
    return performance.now() - t0;
  });
  return {
    name: `calico-lab up --nodes ${nodes} (all nodes ready, mesh established)`,
    value: ms,
    unit: "ms",
    baseline: { name: `${nodes} bare namespaces + veths`, value: await bareNamespaces(`cbb${nodes}`, nodes) },
  };
}

async function podReachability(): Promise<Figure[]> {
  return withLab("cblp", async (lab) => {
    await lab.up(3, quiet);
    await lab.namespaceCreate("bench", {});
    const watchers = [];
    for (const node of ["node1", "node2", "node3"])
      watchers.push(await lab.podCreate(`bench/watch-${node}`, { node, labels: {}, serve: [] }, quiet));
    const total: number[] = [];
    const cni: number[] = [];
    for (let i = 0; i < 50; i++) {
      const node = `node${1 + (i % 3)}`;
      const ref = `bench/pod${i}`;
      const t0 = performance.now();
      await lab.podCreate(
        ref,
        { node, labels: { app: "bench" }, serve: [{ protocol: "tcp", port: 80 }] },
        quiet,
      );
      cni.push(performance.now() - t0);
      const others = watchers.filter((w) => w.node !== node);
      await Promise.all(
        others.map(async (w) => {
          for (;;) {
            if ((await lab.probe(`bench/${w.name}`, ref, 80, "tcp", 300)) === "open") return;
          }
        }),
      );
      total.push(performance.now() - t0);
    }
    const t = percentiles(total);
    const c = { name: "pod create alone (CNI ADD + endpoint labels)", value: percentiles(cni).median };
    return [
      {
        name: "pod create → reachable from every other node, median",
        value: t.median,
        unit: "ms",
        baseline: c,
        goal: "≤ 1000 ms",
      },
      {
        name: "pod create → reachable from every other node, p99",
        value: t.p99,
        unit: "ms",
        baseline: c,
        goal: "≤ 1000 ms",
      },
    ];
  });
}

/** Polls from each watcher until `ref` answers over `family`; ms since `t0`. */
async function reachedFrom(
  lab: Lab,
  watchers: string[],
  ref: string,
  family: 4 | 6,
  t0: number,
): Promise<number> {
  await Promise.all(
    watchers.map(async (w) => {
      for (;;) if ((await lab.probe(w, ref, 80, "tcp", 300, family)) === "open") return;
    }),
  );
  return performance.now() - t0;
}

async function dualStackReachability(): Promise<Figure[]> {
  return withLab("cbld", async (lab) => {
    await lab.up(3, quiet, undefined, { ipv6: true });
    await lab.namespaceCreate("bench", {});
    const watchers = [];
    for (const node of ["node1", "node2", "node3"])
      watchers.push(await lab.podCreate(`bench/watch-${node}`, { node, labels: {}, serve: [] }, quiet));
    const v4: number[] = [];
    const v6: number[] = [];
    for (let i = 0; i < 50; i++) {
      const node = `node${1 + (i % 3)}`;
      const ref = `bench/pod${i}`;
      const t0 = performance.now();
      await lab.podCreate(ref, { node, labels: {}, serve: [{ protocol: "tcp", port: 80 }] }, quiet);
      const others = watchers.filter((w) => w.node !== node).map((w) => `bench/${w.name}`);
      const [t4, t6] = await Promise.all([
        reachedFrom(lab, others, ref, 4, t0),
        reachedFrom(lab, others, ref, 6, t0),
      ]);
      v4.push(t4);
      v6.push(t6);
    }
    const p4 = percentiles(v4);
    const p6 = percentiles(v6);
    return [
      {
        name: "pod create → reachable over IPv6 (dual stack), median",
        value: p6.median,
        unit: "ms",
        baseline: { name: "same pods over IPv4, median", value: p4.median },
        goal: "≤ 1000 ms",
      },
      {
        name: "pod create → reachable over IPv6 (dual stack), p99",
        value: p6.p99,
        unit: "ms",
        baseline: { name: "same pods over IPv4, p99", value: p4.p99 },
        goal: "≤ 1000 ms",
      },
    ];
  });
}

const bench: BenchModule = {
  title: "calico-lab: cluster start-up and pod reachability across nodes (real BIRD, Felix, CNI)",
  async run() {
    return [
      await upTime(3),
      await upTime(10),
      ...(await podReachability()),
      ...(await dualStackReachability()),
    ];
  },
};

export default bench;
