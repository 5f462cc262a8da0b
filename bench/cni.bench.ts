/**
 * CNI plugin latency as a runtime sees it: one process per call, run inside a host network
 * namespace, against a real etcd, with a fresh container namespace per iteration. Process
 * start-up is shown apart: `calico` answering VERSION (Node start + our entry, no datastore)
 * and a bare `node -e 0`, both measured in this run the same way.
 */
import { join } from "node:path";
import { type Cluster, expectOk, invoke, netConf, newContainer, startCluster } from "../test/cni/harness.js";
import { exec } from "../test/support/netns.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const ITERATIONS = 30;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function samples(n: number, fn: (i: number) => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
}

async function measure(c: Cluster) {
  const inHost = (argv: string[], env: Record<string, string> = {}) =>
    exec("nsenter", [`--net=${c.host.path}`, ...argv], { env: { PATH: process.env.PATH ?? "", ...env } });
  const nodeStart = await samples(ITERATIONS, () => timed(() => inHost([process.execPath, "-e", "0"])));
  const version = await samples(ITERATIONS, () =>
    timed(async () => {
      const out = await inHost([join(c.binDir, "calico")], { CNI_COMMAND: "VERSION" });
      if (out.code !== 0) throw new Error(out.stdout);
    }),
  );
  const conf = netConf(c, { log_level: "error" });
  const add: number[] = [];
  const del: number[] = [];
  for (let i = -2; i < ITERATIONS; i++) {
    const ctr = await newContainer("cts-cni-bench");
    try {
      const inv = { containerId: `bench${i + 2}`, netns: ctr.path, conf };
      const a = await timed(async () => expectOk(await invoke(c, "calico", { command: "ADD", ...inv })));
      const d = await timed(async () => expectOk(await invoke(c, "calico", { command: "DEL", ...inv })));
      if (i >= 0) {
        add.push(a);
        del.push(d);
      }
    } finally {
      await ctr.remove();
    }
  }
  const ipamConf = { ...conf, nodename_file_optional: true };
  const ipamAdd = await samples(ITERATIONS, async (i) => {
    const inv = { containerId: `benchipam${i}`, netns: "/var/run/netns/unused", conf: ipamConf };
    const t = await timed(async () => expectOk(await invoke(c, "calico-ipam", { command: "ADD", ...inv })));
    expectOk(await invoke(c, "calico-ipam", { command: "DEL", ...inv }));
    return t;
  });
  return { nodeStart, version, add, del, ipamAdd };
}

const bench: BenchModule = {
  title: "CNI plugins: per-call latency (process per call, real etcd, netns)",
  async run(): Promise<Figure[]> {
    const c = await startCluster({ prefix: "cts-cni-bench" });
    try {
      const m = await measure(c);
      const node = percentiles(m.nodeStart);
      const version = percentiles(m.version);
      const add = percentiles(m.add);
      const del = percentiles(m.del);
      const ipam = percentiles(m.ipamAdd);
      const startup = { name: "calico VERSION (start-up only) median", value: version.median };
      return [
        {
          name: "calico VERSION median",
          value: version.median,
          unit: "ms",
          baseline: { name: "node -e 0 median", value: node.median },
        },
        {
          name: "calico ADD median (calico-ipam, veth, WEP)",
          value: add.median,
          unit: "ms",
          baseline: startup,
        },
        { name: "calico ADD p99", value: add.p99, unit: "ms", baseline: startup },
        { name: "calico DEL median", value: del.median, unit: "ms", baseline: startup },
        { name: "calico DEL p99", value: del.p99, unit: "ms", baseline: startup },
        { name: "calico-ipam ADD alone median", value: ipam.median, unit: "ms", baseline: startup },
      ];
    } finally {
      await c.stop();
    }
  },
};

export default bench;
