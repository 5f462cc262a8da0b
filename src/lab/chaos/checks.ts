/**
 * What `calico-lab chaos` inspects after each fault: IPAM allocations without a pod, kernel
 * state left for endpoints that are gone, and process restarts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { IPAMStore } from "../../ipam/store.js";
import { run } from "../../lib/exec.js";
import { withClient } from "../datastore.js";
import { alive } from "../processes.js";
import type { LabPaths, LabState } from "../state.js";

const POD_HANDLE = "k8s-pod-network.";

/** Container ids of every pod allocation IPAM holds. */
export async function podAllocations(paths: LabPaths): Promise<string[]> {
  return withClient(paths, async (_c, store) => {
    const out: string[] = [];
    for (const { value: block } of await new IPAMStore(store.kv).listBlocks()) {
      for (const attr of block.allocations) {
        if (attr === null) continue;
        const handle = block.attributes[attr]?.handle_id ?? "";
        if (handle.startsWith(POD_HANDLE)) out.push(handle.slice(POD_HANDLE.length));
      }
    }
    return out;
  });
}

/** Allocations whose pod the lab no longer has. */
export async function leakedAllocations(paths: LabPaths, state: LabState): Promise<number> {
  const live = new Set(Object.values(state.pods).map((p) => p.containerId));
  return (await podAllocations(paths)).filter((id) => !live.has(id)).length;
}

/**
 * Per node: workload routes to addresses no local pod has, and per-interface policy chains
 * (`cali-tw-`/`cali-fw-`) for interfaces that no longer exist.
 */
export async function staleKernelState(state: LabState): Promise<{ count: number; details: string[] }> {
  const details: string[] = [];
  for (const node of state.nodes) {
    const local = new Set(
      Object.values(state.pods)
        .filter((p) => p.node === node.name)
        .flatMap((p) => p.ips ?? [p.ip]),
    );
    const links = new Set(
      (await run("ip", ["-n", node.netns, "-o", "link", "show"])).stdout
        .split("\n")
        .map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1] ?? "")
        .filter((n) => n),
    );
    for (const line of (await run("ip", ["-n", node.netns, "-4", "route", "show"])).stdout.split("\n")) {
      const m = /^(\S+) dev (cali\S+)/.exec(line);
      if (m && !local.has((m[1] as string).split("/")[0] as string))
        details.push(`${node.name}: route ${line.trim()}`);
    }
    const chains = await run("nsenter", [`--net=/run/netns/${node.netns}`, "nft", "list", "chains"]);
    for (const m of chains.stdout.matchAll(/chain \S*cali-[tf]w-(cali[0-9a-f]+)\b/g))
      if (!links.has(m[1] as string)) details.push(`${node.name}: chain for ${m[1]}`);
  }
  return { count: details.length, details };
}

const RESTART_LINES = { felix: "Felix stopped; restarting it", bird: "BIRD exited; restarting it" };

/** Process ids and in-process restart counts, keyed `node:N`, `felix:N`, `bird:N`, `typha:T`, `etcd:M`. */
export type RestartSnapshot = Map<string, number>;

function count(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) n++;
  return n;
}

export function restartSnapshot(paths: LabPaths, state: LabState): RestartSnapshot {
  const snap: RestartSnapshot = new Map();
  for (const n of state.nodes) {
    snap.set(`node:${n.name}`, n.pid ?? 0);
    let log = "";
    try {
      log = readFileSync(join(paths.dir, n.name, "calico-node.log"), "utf8");
    } catch {
      // No log yet.
    }
    snap.set(`felix:${n.name}`, count(log, RESTART_LINES.felix));
    snap.set(`bird:${n.name}`, count(log, RESTART_LINES.bird));
  }
  for (const t of state.typhas ?? []) snap.set(`typha:${t.name}`, t.pid ?? 0);
  for (const m of state.etcdMembers ?? []) snap.set(`etcd:${m.name}`, m.pid);
  return snap;
}

/** Restarts between two snapshots, and processes found dead, except those in `expected`. */
export function unexpectedRestarts(
  before: RestartSnapshot,
  after: RestartSnapshot,
  expected: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  for (const [key, now] of after) {
    if (expected.has(key)) continue;
    const was = before.get(key) ?? 0;
    const isPid = key.startsWith("node:") || key.startsWith("typha:") || key.startsWith("etcd:");
    if (isPid ? now !== was || !alive(now) : now > was)
      out.push(isPid ? `${key} changed or died` : `${key} +${now - was}`);
  }
  return out;
}
