/**
 * CNI plugin latency as a runtime sees it: one process per call, run inside a host network
 * namespace, against a real etcd, with a fresh container namespace per iteration.
 *
 * Everything is measured interleaved in the same run, so machine load hits all of it alike:
 *  - the floor: a bare `node -e 0`, what any Node plugin pays before its first line runs;
 *  - the shipped path on a host running calico-node: bin/calico hands the call to the node's CNI
 *    agent (src/cni/agent.ts), which runs it with warm datastore and IPAM clients;
 *  - the plugin as its own process (CALICO_CNI_AGENT=off, what a host without an agent gets): the
 *    one-file bundle, etcd's JSON gateway, the IPAM fast path (the block hint file beside the
 *    IPAM lock);
 *  - the old path as a baseline: the unbundled modules, the gRPC etcd client
 *    (CALICO_ETCD_CLIENT=grpc) and no block hints (the file is removed before every call, so
 *    IPAM takes the general path), which is how the plugins ran before issue 14;
 *  - optionally another built checkout's plugins (CNI_BENCH_BASELINE=<checkout dir>, e.g. a
 *    build of main), to compare two versions of the shipped path in one run.
 */
import { chmod, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { hintsPath } from "../src/cni/calico-ipam.js";
import { parseNetConf } from "../src/cni/config.js";
import {
  type Cluster,
  expectOk,
  invoke,
  netConf,
  newContainer,
  REPO,
  startAgent,
  startCluster,
} from "../test/cni/harness.js";
import { exec } from "../test/support/netns.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const ITERATIONS = 30;
const GOAL = { median: "≤ 120 ms", p99: "≤ 200 ms" };

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/**
 * A CNI bin dir whose `calico` runs the unbundled dist/cni/main.js. Its `calico-ipam` is still
 * this package's own, so the calico plugin runs IPAM in-process, as it did before the bundle.
 */
async function unbundledBinDir(c: Cluster): Promise<string> {
  const bin = join(c.dir, "bin-unbundled");
  await mkdir(bin);
  const script = (plugin: string) =>
    `#!/usr/bin/env node\nimport { main } from ${JSON.stringify(join(REPO, "dist/cni/main.js"))};\nawait main(${JSON.stringify(plugin)});\n`;
  await writeFile(join(bin, "calico"), script("calico"));
  await chmod(join(bin, "calico"), 0o755);
  await symlink(join(REPO, "bin/calico-ipam"), join(bin, "calico-ipam"));
  return bin;
}

/** A CNI bin dir with another checkout's plugins, for CNI_BENCH_BASELINE. */
async function checkoutBinDir(c: Cluster, checkout: string): Promise<string> {
  const bin = join(c.dir, "bin-baseline");
  await mkdir(bin);
  for (const p of ["calico", "calico-ipam"]) await symlink(join(checkout, "bin", p), join(bin, p));
  return bin;
}

interface Path {
  add: number[];
  del: number[];
  ipamAdd: number[];
}

const newPath = (): Path => ({ add: [], del: [], ipamAdd: [] });

type Which = "agent" | "new" | "old" | "checkout";

async function measure(c: Cluster, checkout: string | undefined) {
  const inHost = (argv: string[], env: Record<string, string> = {}) =>
    exec("nsenter", [`--net=${c.host.path}`, ...argv], { env: { PATH: process.env.PATH ?? "", ...env } });
  const oldBin = await unbundledBinDir(c);
  const checkoutBin = checkout === undefined ? undefined : await checkoutBinDir(c, checkout);
  const conf = netConf(c, { log_level: "error" });
  // The old path gets its own lock (and so hint) directory, whose hint file is removed each time.
  const oldLock = join(c.dir, "run-old/ipam.lock");
  const oldConf = netConf(c, { log_level: "error", ipam_lock_file: oldLock });
  const oldHints = hintsPath(parseNetConf(JSON.stringify(oldConf), "0.2.0"));
  await mkdir(dirname(oldLock), { recursive: true });
  // The other checkout keeps its own hints too, as a host running only it would.
  const checkoutConf = netConf(c, {
    log_level: "error",
    ipam_lock_file: join(c.dir, "run-checkout/ipam.lock"),
  });
  const grpc = { CALICO_ETCD_CLIENT: "grpc" };
  const floor: number[] = [];
  const version: number[] = [];
  const paths: Record<Which, Path> = {
    agent: newPath(),
    new: newPath(),
    old: newPath(),
    checkout: newPath(),
  };
  const standalone = { CALICO_CNI_AGENT: "off" };
  const setup = (which: Which) =>
    which === "old"
      ? { cluster: { ...c, binDir: oldBin }, conf: oldConf, env: grpc }
      : which === "checkout"
        ? { cluster: { ...c, binDir: checkoutBin ?? c.binDir }, conf: checkoutConf, env: standalone }
        : { cluster: c, conf, env: which === "agent" ? {} : standalone };

  const addDel = async (i: number, which: Which) => {
    const ctr = await newContainer("cts-cni-bench");
    try {
      const { cluster, conf: pathConf, env } = setup(which);
      const inv = { containerId: `bench-${which}-${i}`, netns: ctr.path, conf: pathConf, env };
      const isOld = which === "old";
      if (isOld) await rm(oldHints, { force: true });
      const a = await timed(async () =>
        expectOk(await invoke(cluster, "calico", { command: "ADD", ...inv })),
      );
      if (isOld) await rm(oldHints, { force: true });
      const d = await timed(async () =>
        expectOk(await invoke(cluster, "calico", { command: "DEL", ...inv })),
      );
      if (i >= 0) {
        paths[which].add.push(a);
        paths[which].del.push(d);
      }
    } finally {
      await ctr.remove();
    }
  };
  const ipamAlone = async (i: number, which: Which) => {
    const { cluster, conf: pathConf, env } = setup(which);
    const inv = {
      containerId: `benchipam-${which}-${i}`,
      netns: "/var/run/netns/unused",
      conf: { ...pathConf, nodename_file_optional: true },
      env,
    };
    if (which === "old") await rm(oldHints, { force: true });
    const t = await timed(async () =>
      expectOk(await invoke(cluster, "calico-ipam", { command: "ADD", ...inv })),
    );
    expectOk(await invoke(cluster, "calico-ipam", { command: "DEL", ...inv }));
    if (i >= 0) paths[which].ipamAdd.push(t);
  };

  const which: Which[] =
    checkout === undefined ? ["agent", "new", "old"] : ["agent", "new", "checkout", "old"];
  // Two warm-up rounds (page cache, first block claims), then interleaved samples.
  for (let i = -2; i < ITERATIONS; i++) {
    const f = await timed(() => inHost([process.execPath, "-e", "0"]));
    const v = await timed(async () => {
      const out = await inHost([join(c.binDir, "calico")], { CNI_COMMAND: "VERSION" });
      if (out.code !== 0) throw new Error(out.stdout);
    });
    if (i >= 0) {
      floor.push(f);
      version.push(v);
    }
    // Rotate which path goes first so none always follows another.
    const order = which.map((_, k) => which[(k + i + 2) % which.length] as Which);
    for (const w of order) await addDel(i, w);
    for (const w of order) if (w !== "agent") await ipamAlone(i, w);
  }
  return {
    floor,
    version,
    agent: paths.agent,
    now: paths.new,
    old: paths.old,
    checkout: checkout && paths.checkout,
  };
}

/** The shipped path's figures against another checkout's (CNI_BENCH_BASELINE). */
function checkoutFigures(now: Path, other: Path, checkout: string): Figure[] {
  const name = `checkout ${checkout}`;
  const p = (xs: number[]) => percentiles(xs);
  const rows: [string, number, number][] = [
    ["calico ADD median", p(now.add).median, p(other.add).median],
    ["calico ADD p99", p(now.add).p99, p(other.add).p99],
    ["calico DEL median", p(now.del).median, p(other.del).median],
    ["calico DEL p99", p(now.del).p99, p(other.del).p99],
    ["calico-ipam ADD alone median", p(now.ipamAdd).median, p(other.ipamAdd).median],
  ];
  return rows.map(([label, value, base]) => ({
    name: `${label} vs another checkout`,
    value,
    unit: "ms",
    baseline: { name, value: base },
  }));
}

const bench: BenchModule = {
  title:
    "CNI plugins: per-call latency (through the node's CNI agent, and as a process per call; real etcd, netns)",
  async run(): Promise<Figure[]> {
    const checkout = process.env.CNI_BENCH_BASELINE || undefined;
    const c = await startCluster({ prefix: "cts-cni-bench" });
    const agent = await startAgent(c).catch(async (err) => {
      await c.stop();
      throw err;
    });
    try {
      const load = loadavg().map((l) => l.toFixed(1));
      const m = await measure(c, checkout);
      console.log(
        `  (${ITERATIONS} interleaved samples each; load average ${load.join(" ")} before, ${loadavg()
          .map((l) => l.toFixed(1))
          .join(" ")} after)`,
      );
      const floor = percentiles(m.floor);
      const version = percentiles(m.version);
      const p = (xs: number[]) => percentiles(xs);
      const [add, oldAdd, del, oldDel] = [p(m.now.add), p(m.old.add), p(m.now.del), p(m.old.del)];
      const [agentAdd, agentDel] = [p(m.agent.add), p(m.agent.del)];
      const [ipam, oldIpam] = [p(m.now.ipamAdd), p(m.old.ipamAdd)];
      const floorNote = `node -e 0 floor ${floor.median.toFixed(0)} ms`;
      /** Median and p99 beside the goal (and, for a process per call, the median above the floor). */
      const latencyFigures = (
        path: string,
        verb: string,
        now: typeof add,
        base: { name: string; p: typeof add },
      ): Figure[] => [
        {
          name: `calico ${verb} ${path} median`,
          value: now.median,
          unit: "ms",
          baseline: { name: base.name, value: base.p.median },
          goal: GOAL.median,
        },
        {
          name: `calico ${verb} ${path} p99`,
          value: now.p99,
          unit: "ms",
          baseline: { name: base.name, value: base.p.p99 },
          goal: GOAL.p99,
        },
        ...(path === "own process"
          ? [
              {
                name: `calico ${verb} own process median above the floor (${floorNote})`,
                value: now.median - floor.median,
                unit: "ms",
                baseline: { name: base.name, value: base.p.median - floor.median },
              },
            ]
          : []),
      ];
      return [
        {
          name: "calico VERSION median (start-up only)",
          value: version.median,
          unit: "ms",
          baseline: { name: "node -e 0 median", value: floor.median },
        },
        ...latencyFigures("via agent", "ADD", agentAdd, { name: "own process", p: add }),
        ...latencyFigures("via agent", "DEL", agentDel, { name: "own process", p: del }),
        ...latencyFigures("own process", "ADD", add, { name: "old path", p: oldAdd }),
        ...latencyFigures("own process", "DEL", del, { name: "old path", p: oldDel }),
        {
          name: `calico-ipam ADD alone median (${floorNote})`,
          value: ipam.median,
          unit: "ms",
          baseline: { name: "old path", value: oldIpam.median },
        },
        ...(m.checkout && checkout ? checkoutFigures(m.now, m.checkout, checkout) : []),
      ];
    } finally {
      agent.child.kill("SIGTERM");
      await c.stop();
    }
  },
};

export default bench;
