/**
 * The overlay's cost and speed, on real labs: pod-to-pod TCP throughput across nodes (iperf3, one
 * stream) with no encapsulation (BGP-routed, L2 fabric) and with VXLAN (L3 fabric), each against
 * the bare node-to-node path of the same fabric; and how long a node that joins a VXLAN lab
 * takes until a pod on every other node reaches a pod on it, against the join alone (namespace,
 * calico-node, Felix ready).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Lab } from "../src/lab/index.js";
import { type LabNetwork, parseNetwork } from "../src/lab/network.js";
import { labPaths } from "../src/lab/state.js";
import { run } from "../src/lib/exec.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const quiet = () => undefined;
const SECONDS = 4;

async function withLab<T>(
  prefix: string,
  nodes: number,
  net: LabNetwork,
  fn: (lab: Lab) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "cts-bov-"));
  const lab = new Lab(labPaths({ CALICO_LAB_DIR: join(dir, "lab"), CALICO_LAB_PREFIX: prefix }));
  try {
    await lab.up(nodes, quiet, net);
    await lab.namespaceCreate("bench", {});
    return await fn(lab);
  } finally {
    await lab.down(quiet);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Received bits/s of one iperf3 TCP stream from namespace `from` to `ip` served in `to`. */
async function iperf(from: string, to: string, ip: string): Promise<number> {
  const server = spawn("nsenter", [`--net=/run/netns/${to}`, "iperf3", "-s", "-1", "-B", ip], {
    stdio: "ignore",
  });
  try {
    for (let i = 0; i < 50; i++) {
      const out = await run("nsenter", [
        `--net=/run/netns/${from}`,
        "iperf3",
        "-c",
        ip,
        "-t",
        String(SECONDS),
        "-J",
      ]);
      if (out.code === 0) {
        const result = JSON.parse(out.stdout) as { end: { sum_received: { bits_per_second: number } } };
        return result.end.sum_received.bits_per_second;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`iperf3 from ${from} to ${ip} never connected`);
  } finally {
    server.kill("SIGKILL");
  }
}

/** Pod-to-pod across two nodes, and node-to-node between the same nodes. */
async function throughput(lab: Lab): Promise<{ pods: number; nodes: number }> {
  const a = await lab.podCreate("bench/a", { node: "node1", labels: {}, serve: [] }, quiet);
  const b = await lab.podCreate("bench/b", { node: "node2", labels: {}, serve: [] }, quiet);
  const [n1, n2] = lab.nodeNames().map((n) => lab.nodeRecord(n));
  const pods = await iperf(a.netns, b.netns, b.ip);
  const nodes = await iperf(n1?.netns as string, n2?.netns as string, n2?.ip as string);
  return { pods, nodes };
}

async function reachable(lab: Lab, from: string, to: string): Promise<boolean> {
  return (await lab.probe(from, to, 80, "tcp", 300)) === "open";
}

/** Join a node, start a pod on it, and time until every other node's pod reaches it. */
async function joinTimes(lab: Lab, rounds: number): Promise<{ ready: number[]; reach: number[] }> {
  const others = lab.nodeNames();
  for (const n of others) await lab.podCreate(`bench/on-${n}`, { node: n, labels: {}, serve: [] }, quiet);
  const ready: number[] = [];
  const reach: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const node = await lab.nodeAdd(quiet);
    ready.push(performance.now() - t0);
    const ref = `bench/new-${i}`;
    await lab.podCreate(ref, { node: node.name, labels: {}, serve: [{ protocol: "tcp", port: 80 }] }, quiet);
    let pending = others.map((n) => `bench/on-${n}`);
    while (pending.length > 0) {
      const results = await Promise.all(pending.map(async (p) => [p, await reachable(lab, p, ref)] as const));
      pending = results.filter(([, ok]) => !ok).map(([p]) => p);
      if (performance.now() - t0 > 60_000) throw new Error(`${ref} not reachable after 60 s`);
    }
    reach.push(performance.now() - t0);
    await lab.podDelete(ref);
    await lab.nodeRemove(node.name, quiet);
  }
  return { ready, reach };
}

const gbit = (bps: number) => bps / 1e9;

const bench: BenchModule = {
  title: "Overlay: pod-to-pod throughput across nodes and node join over VXLAN (real labs)",
  async run(): Promise<Figure[]> {
    const plain = await withLab("cbo1", 2, parseNetwork({}), throughput);
    const vxlanNet = parseNetwork({ fabric: "l3", encap: "vxlan" });
    const { vx, join } = await withLab("cbo2", 2, vxlanNet, async (lab) => ({
      vx: await throughput(lab),
      join: await joinTimes(lab, 5),
    }));
    const ready = percentiles(join.ready);
    const reach = percentiles(join.reach);
    return [
      {
        name: "pod → pod across nodes, no encapsulation (L2, BGP)",
        value: gbit(plain.pods),
        unit: "Gbit/s",
        baseline: { name: "node → node, same fabric", value: gbit(plain.nodes) },
      },
      {
        name: "pod → pod across nodes, VXLAN (L3 fabric)",
        value: gbit(vx.pods),
        unit: "Gbit/s",
        baseline: { name: "node → node, same fabric", value: gbit(vx.nodes) },
      },
      {
        name: "pod → pod, VXLAN vs no encapsulation",
        value: gbit(vx.pods),
        unit: "Gbit/s",
        baseline: { name: "pod → pod, no encapsulation", value: gbit(plain.pods) },
      },
      {
        name: "node joins → its pod reached from every node (VXLAN), median",
        value: reach.median,
        unit: "ms",
        baseline: { name: "node join alone (calico-node ready), median", value: ready.median },
      },
      {
        name: "node joins → its pod reached from every node (VXLAN), p99",
        value: reach.p99,
        unit: "ms",
        baseline: { name: "node join alone (calico-node ready), median", value: ready.median },
      },
    ];
  },
};

export default bench;
