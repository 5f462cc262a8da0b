/**
 * `calico-lab chaos`: start the steady workload, inject each fault in turn while it runs, measure
 * what the workload saw and what the cluster kept, then delete every pod and check nothing leaked.
 */
import { join } from "node:path";
import { run } from "../../lib/exec.js";
import { etcdUrl } from "../datastore.js";
import { clusterWritable } from "../etcd-cluster.js";
import { nodeReady } from "../nodes.js";
import { BIN, LabError, type Progress, sleep } from "../processes.js";
import { type LabPaths, type LabState, loadState, saveState } from "../state.js";
import {
  leakedAllocations,
  podAllocations,
  restartSnapshot,
  staleKernelState,
  unexpectedRestarts,
} from "./checks.js";
import { FAULTS, type Fault, type FaultContext } from "./faults.js";
import type { FaultResult, FinalResult } from "./report.js";
import { Workload } from "./workload.js";

export interface ChaosOptions {
  quick: boolean;
  /** Fault ids to run (default: all). */
  only?: string[];
}

export interface ChaosRun {
  results: FaultResult[];
  final: FinalResult;
  /** Details behind non-zero figures (stale objects, restarts, teardown errors). */
  notes: string[];
}

const RECONVERGE_LIMIT_MS = 120_000;

export function faultIds(): string[] {
  return FAULTS.map((f) => f.id);
}

/** What is not yet back to normal; empty when everything is. The checks run side by side. */
async function notConverged(paths: LabPaths, state: LabState, workload: Workload): Promise<string[]> {
  const [writable, ready, policy] = await Promise.all([
    state.etcdMembers?.length ? clusterWritable(state.etcdMembers) : Promise.resolve(true),
    Promise.all(state.nodes.map(async (n) => ({ n: n.name, f: await nodeReady(paths, state, n.name) }))),
    workload.policyCorrect(),
  ]);
  return [
    ...(writable ? [] : ["etcd takes no writes"]),
    ...ready.filter((r) => r.f.length > 0).map((r) => `${r.n}: ${r.f.join("; ")}`),
    ...(workload.allConnectionsUp ? [] : ["a long-lived connection is down"]),
    ...(policy ? [] : ["policy probes wrong"]),
  ];
}

/** Retries a kernel check for a few seconds: Felix may still be finishing a removal. */
async function settledStale(state: LabState): Promise<{ count: number; details: string[] }> {
  let last = await staleKernelState(state);
  for (let i = 0; last.count > 0 && i < 10; i++) {
    await sleep(500);
    last = await staleKernelState(state);
  }
  return last;
}

/** A datastore read right after recovery may still meet a member catching up: try a few times. */
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 4) throw err;
      await sleep(2_000);
    }
  }
}

async function runFault(
  fault: Fault,
  ctx: FaultContext,
  workload: Workload,
  progress: Progress,
  notes: string[],
): Promise<FaultResult> {
  const { paths, state } = ctx;
  const ev = workload.events;
  const dupBefore = ev.duplicateIPs;
  const before = restartSnapshot(paths, state);
  const t0 = Date.now();
  progress(`injecting: ${fault.title}`);
  const injected = await fault.inject(ctx);
  progress(`lifting: ${fault.title}`);
  await injected.recover();
  const lifted = Date.now();
  let reconverged = false;
  let reconvergeMs = RECONVERGE_LIMIT_MS;
  const waitingFor = new Set<string>();
  while (Date.now() - lifted < RECONVERGE_LIMIT_MS) {
    // A round takes a second or more on a loaded host (it starts processes in the namespaces), so
    // the figure is an upper bound: the end of the first round that found everything back.
    const pending = await notConverged(paths, state, workload);
    if (pending.length === 0) {
      reconverged = true;
      reconvergeMs = Date.now() - lifted;
      break;
    }
    for (const p of pending) waitingFor.add(p);
    await sleep(100);
  }
  if (waitingFor.size > 0) notes.push(`${fault.id}: waited for ${[...waitingFor].join(" | ")}`);
  await sleep(1_000);
  // After recovery the policy must hold both ways.
  let violationsAfter = 0;
  for (let i = 0; i < 2; i++) if (!(await workload.policyCorrect())) violationsAfter++;
  const t1 = Date.now();
  const within = (ts: number[]) => ts.filter((t) => t >= t0 && t <= t1);
  const failed = within(ev.dialFailed);
  const { leaks, stale } = await workload.lock.run(async () => ({
    leaks: await retried(() => leakedAllocations(paths, state)),
    stale: await settledStale(state),
  }));
  const restarts = unexpectedRestarts(before, restartSnapshot(paths, state), new Set(injected.expected));
  notes.push(
    ...stale.details.map((d) => `${fault.id}: stale ${d}`),
    ...restarts.map((r) => `${fault.id}: restart ${r}`),
  );
  const result: FaultResult = {
    fault: fault.title,
    linkDown: fault.linkDown,
    brokenConnections: within(ev.broken).length,
    failedNewConnections: failed.length,
    failureWindowMs:
      failed.length > 0 ? (failed[failed.length - 1] as number) - (failed[0] as number) + 100 : 0,
    // Denied probes that got through count once each (the workload also counts its checks').
    violations: within(ev.deniedThrough).length + violationsAfter,
    reconvergeMs,
    reconverged,
    leaks,
    duplicateIPs: ev.duplicateIPs - dupBefore,
    staleKernelState: stale.count,
    unexpectedRestarts: restarts.length,
  };
  progress(
    `${fault.title}: broken ${result.brokenConnections}, failed new ${result.failedNewConnections}, violations ${result.violations}, reconverged in ${(reconvergeMs / 1000).toFixed(1)} s`,
  );
  return result;
}

async function ipamCheckProblems(state: LabState): Promise<number> {
  const out = await run(process.execPath, [BIN("calicoctl"), "ipam", "check"], {
    env: { PATH: process.env.PATH, DATASTORE_TYPE: "etcdv3", ETCD_ENDPOINTS: etcdUrl(state) },
  });
  const m = /Check complete; found (\d+) problems/.exec(out.stdout);
  if (!m) throw new LabError(`calicoctl ipam check failed: ${out.stderr.trim() || out.stdout.trim()}`);
  return Number(m[1]);
}

export async function runChaos(paths: LabPaths, opts: ChaosOptions, progress: Progress): Promise<ChaosRun> {
  const state = loadState(paths);
  if (!state?.etcd)
    throw new LabError("no lab is running: start one with `calico-lab up --etcd 3 --typha 2`");
  const unknown = (opts.only ?? []).filter((id) => !faultIds().includes(id));
  if (unknown.length > 0)
    throw new LabError(`unknown fault ${unknown.join(", ")}: choose from ${faultIds().join(", ")}`);
  const faults = FAULTS.filter((f) => !opts.only?.length || opts.only.includes(f.id));
  const ctx: FaultContext = { paths, state, save: () => saveState(paths, state), quick: opts.quick };
  const workload = new Workload(paths, state);
  const results: FaultResult[] = [];
  const notes: string[] = [];
  progress("starting the workload");
  try {
    await workload.setup(progress);
    workload.startChurn();
    await sleep(2_000);
    for (const fault of faults) {
      const why = fault.unavailable(state);
      if (why) {
        progress(`skipping ${fault.title}: ${why}`);
        results.push({
          fault: fault.title,
          skipped: why,
          linkDown: fault.linkDown,
          brokenConnections: 0,
          failedNewConnections: 0,
          failureWindowMs: 0,
          violations: 0,
          reconvergeMs: 0,
          reconverged: true,
          leaks: 0,
          duplicateIPs: 0,
          staleKernelState: 0,
          unexpectedRestarts: 0,
        });
        continue;
      }
      results.push(await runFault(fault, ctx, workload, progress, notes));
      await sleep(1_000);
    }
  } finally {
    progress("deleting the workload's pods");
    notes.push(...(await workload.teardown()).map((e) => `teardown: ${e}`));
    ctx.save();
  }
  const stale = await settledStale(state);
  notes.push(...stale.details.map((d) => `final: stale ${d}`));
  const final: FinalResult = {
    ipamCheckProblems: await retried(() => ipamCheckProblems(state)),
    leakedAllocations: (await retried(() => podAllocations(paths))).filter(
      (id) => !Object.values(state.pods).some((p) => p.containerId === id),
    ).length,
    staleKernelState: stale.count,
  };
  progress(`logs: ${join(paths.dir, "<node>", "calico-node.log")}`);
  return { results, final, notes };
}
