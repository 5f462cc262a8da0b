/**
 * The lab at scale (`LAB_SCALE_NODES`, default 50, with `LAB_SCALE_RR` route reflectors, default
 * 2, as Calico recommends beyond a hundred-odd nodes): time for `calico-lab up` until every node is
 * ready and every BGP session established, against making the same bare namespaces and links;
 * each node's memory (RSS and PSS of calico-node and of its BIRD), against an idle Node.js process
 * started the same way; BGP sessions per client node, against what a full mesh needs; and the
 * time from `pod create` until the pod answers TCP from every other node, against the pod create
 * alone, and how long one probe sweep takes once every node already answers (the measurement's
 * own floor: a process per probe, eight at a time). A big lab takes minutes; `LAB_SCALE_NODES=6 npm run bench -- lab-scale` is a quick run.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Lab } from "../src/lab/index.js";
import { labPaths } from "../src/lab/state.js";
import { run, runOk } from "../src/lib/exec.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const NODES = Number(process.env.LAB_SCALE_NODES ?? 50);
const RR = Number(process.env.LAB_SCALE_RR ?? 2);
const NEW_PODS = 5;
const MB = 1024 * 1024;

const progress = (msg: string) =>
  process.stderr.write(`  [lab-scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** RSS and PSS of a process, in bytes, from smaps_rollup. */
function memoryOf(pid: number): { rss: number; pss: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { rss: field("Rss"), pss: field("Pss") };
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

async function pidsIn(netns: string): Promise<number[]> {
  return (await run("ip", ["netns", "pids", netns])).stdout
    .split("\n")
    .filter((p) => p.trim())
    .map(Number);
}

/** An idle Node.js process: the floor any calico-node sits on. */
async function idleNodeMemory(): Promise<{ rss: number; pss: number }> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 1_500));
  try {
    return memoryOf(child.pid as number);
  } finally {
    child.kill("SIGKILL");
  }
}

async function bareNamespaces(prefix: string, n: number): Promise<number> {
  const t0 = performance.now();
  await runOk("ip", ["netns", "add", `${prefix}-f`]);
  await runOk("ip", ["-n", `${prefix}-f`, "link", "add", "br0", "type", "bridge"]);
  for (let i = 1; i <= n; i++) {
    await runOk("ip", ["netns", "add", `${prefix}-${i}`]);
    await runOk("ip", [
      ...["-n", `${prefix}-f`, "link", "add", "name", `n${i}`, "type", "veth"],
      ...["peer", "name", "eth0", "netns", `${prefix}-${i}`],
    ]);
  }
  const ms = performance.now() - t0;
  for (let i = 1; i <= n; i++) await run("ip", ["netns", "del", `${prefix}-${i}`]);
  await run("ip", ["netns", "del", `${prefix}-f`]);
  return ms;
}

/** A TCP connection from the namespace to ip:port within ~1 s (a shell's /dev/tcp: no Node start-up). */
async function connects(netns: string, ip: string, port: number): Promise<boolean> {
  const out = await run("nsenter", [
    `--net=/run/netns/${netns}`,
    "timeout",
    "1",
    "bash",
    "-c",
    `exec 3<>/dev/tcp/${ip}/${port}`,
  ]);
  return out.code === 0;
}

/** ms from t0 until every namespace connects; polled a few namespaces at a time. */
async function reachableFromAll(netnses: string[], ip: string, t0: number): Promise<number> {
  let pending = netnses;
  while (pending.length > 0) {
    const failed: string[] = [];
    for (let i = 0; i < pending.length; i += 8) {
      const batch = pending.slice(i, i + 8);
      const ok = await Promise.all(batch.map((ns) => connects(ns, ip, 80)));
      failed.push(...batch.filter((_, k) => !ok[k]));
    }
    pending = failed;
    if (performance.now() - t0 > 120_000) throw new Error(`${ip} unreachable from ${pending.join(", ")}`);
  }
  return performance.now() - t0;
}

const bench: BenchModule = {
  title: `calico-lab at scale: ${NODES} nodes, ${RR} route reflectors (load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")})`,
  async run(): Promise<Figure[]> {
    const bare = await bareNamespaces("cbsb", NODES);
    const idle = await idleNodeMemory();
    const dir = await mkdtemp(join(tmpdir(), "cts-slab-"));
    const lab = new Lab(labPaths({ CALICO_LAB_DIR: join(dir, "lab"), CALICO_LAB_PREFIX: "cbs" }));
    try {
      const t0 = performance.now();
      await lab.up(NODES, progress, undefined, { routeReflectors: RR });
      const upMs = performance.now() - t0;

      const names = lab.nodeNames();
      const node: { rss: number; pss: number }[] = [];
      const bird: { rss: number; pss: number }[] = [];
      for (const name of names) {
        const rec = lab.nodeRecord(name);
        for (const pid of await pidsIn(rec.netns)) {
          if (pid === rec.pid) node.push(memoryOf(pid));
          else if (commOf(pid) === "bird") bird.push(memoryOf(pid));
        }
      }
      const median = (xs: number[]) => percentiles(xs).median / MB;
      const clients = names.slice(RR);
      const sessions = percentiles(await Promise.all(clients.map((n) => lab.bgpEstablished(n)))).median;
      progress(`up in ${(upMs / 1000).toFixed(1)} s; measuring ${NEW_PODS} new pods`);

      await lab.namespaceCreate("bench", {});
      const total: number[] = [];
      const create: number[] = [];
      const sweep: number[] = [];
      for (let k = 0; k < NEW_PODS; k++) {
        const on = names[(RR + 7 * k) % names.length] as string;
        const ref = `bench/pod${k}`;
        const s = performance.now();
        const pod = await lab.podCreate(
          ref,
          { node: on, labels: {}, serve: [{ protocol: "tcp", port: 80 }] },
          () => {},
        );
        create.push(performance.now() - s);
        const others = names.filter((n) => n !== on).map((n) => lab.nodeRecord(n).netns);
        total.push(await reachableFromAll(others, pod.ip, s));
        // The same probes once everything answers: how much of the figure is the probing itself.
        const again = performance.now();
        sweep.push(await reachableFromAll(others, pod.ip, again));
      }
      const reach = percentiles(total);
      const podCreate = { name: "pod create alone, median", value: percentiles(create).median };
      return [
        {
          name: `calico-lab up --nodes ${NODES} --route-reflectors ${RR} (ready, BGP up)`,
          value: upMs / 1000,
          unit: "s",
          baseline: { name: `${NODES} bare namespaces + veths`, value: bare / 1000 },
        },
        {
          name: "calico-node RSS per node (median)",
          value: median(node.map((m) => m.rss)),
          unit: "MB",
          baseline: { name: "idle Node.js process", value: idle.rss / MB },
          goal: "below the ~83 MB of issue 14",
        },
        {
          name: "calico-node PSS per node (median; shared pages split)",
          value: median(node.map((m) => m.pss)),
          unit: "MB",
          baseline: { name: "idle Node.js process (alone)", value: idle.pss / MB },
        },
        {
          name: "BIRD RSS per node (median)",
          value: median(bird.map((m) => m.rss)),
          unit: "MB",
          baseline: { name: "idle Node.js process", value: idle.rss / MB },
        },
        {
          name: "BGP sessions per client node (median)",
          value: sessions,
          unit: "",
          baseline: { name: "full mesh", value: NODES - 1 },
        },
        {
          name: `pod create → TCP from all ${NODES - 1} other nodes, median of ${NEW_PODS}`,
          value: reach.median,
          unit: "ms",
          baseline: podCreate,
          goal: "≤ 1000 ms",
        },
        {
          name: `one probe sweep of the ${NODES - 1} nodes once reachable (median)`,
          value: percentiles(sweep).median,
          unit: "ms",
          baseline: podCreate,
        },
        {
          name: `pod create → TCP from all ${NODES - 1} other nodes, worst of ${NEW_PODS}`,
          value: Math.max(...total),
          unit: "ms",
          baseline: podCreate,
          goal: "≤ 1000 ms",
        },
      ];
    } finally {
      await lab.down(progress);
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
