/**
 * `calico-lab flows`: the flow logs every node's Felix writes (`up --flow-logs`), merged, filtered
 * and printed as a table or JSON lines; `--follow` keeps printing records as they are written.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { FLOW_LOG_FILE, type FlowFilter, type FlowLog, matchesFlow } from "../felix/flowlogs/index.js";
import { LabError, sleep } from "./processes.js";
import type { LabPaths, LabState } from "./state.js";

/** How often a lab node's Felix writes its flow logs: short, so a probe shows up at once. */
export const LAB_FLOW_FLUSH_SECONDS = 2;

export function flowLogDir(paths: LabPaths, node: string): string {
  return join(paths.dir, node, "flowlogs");
}

/** Felix's flow log settings for a lab node. */
export function flowLogEnv(paths: LabPaths, node: string, on: boolean): Record<string, string> {
  if (!on) return {};
  return {
    FELIX_FLOWLOGSFILEENABLED: "true",
    FELIX_FLOWLOGSFILEDIRECTORY: flowLogDir(paths, node),
    FELIX_FLOWLOGSFLUSHINTERVAL: String(LAB_FLOW_FLUSH_SECONDS),
  };
}

function requireFlowLogs(state: LabState): void {
  if (!state.flowLogs)
    throw new LabError("flow logs are off in this lab: start it with `calico-lab up --flow-logs`");
}

function parseLines(text: string): FlowLog[] {
  const out: FlowLog[] = [];
  for (const line of text.split("\n")) if (line.trim()) out.push(JSON.parse(line) as FlowLog);
  return out;
}

/** Every node's records, oldest file first, in time order. */
export function readFlows(paths: LabPaths, state: LabState, filter: FlowFilter = {}): FlowLog[] {
  requireFlowLogs(state);
  const all: FlowLog[] = [];
  for (const node of state.nodes) {
    const base = join(flowLogDir(paths, node.name), FLOW_LOG_FILE);
    for (let i = 9; i >= 0; i--) {
      const file = i === 0 ? base : `${base}.${i}`;
      if (existsSync(file)) all.push(...parseLines(readFileSync(file, "utf8")));
    }
  }
  return all.filter((r) => matchesFlow(r, filter)).sort((a, b) => a.end_time - b.end_time);
}

/** Prints each record appended to any node's flow log from now on, until `signal` aborts. */
export async function followFlows(
  paths: LabPaths,
  state: LabState,
  filter: FlowFilter,
  emit: (r: FlowLog) => void,
  signal?: AbortSignal,
): Promise<void> {
  requireFlowLogs(state);
  const offsets = new Map<string, number>();
  const files = () => state.nodes.map((n) => join(flowLogDir(paths, n.name), FLOW_LOG_FILE));
  for (const f of files()) offsets.set(f, existsSync(f) ? statSync(f).size : 0);
  while (!signal?.aborted) {
    await sleep(500);
    for (const f of files()) {
      if (!existsSync(f)) continue;
      const size = statSync(f).size;
      let from = offsets.get(f) ?? 0;
      // A rotated file starts again from the beginning.
      if (size < from) from = 0;
      if (size === from) continue;
      const text = readFileSync(f).subarray(from, size).toString();
      const complete = text.lastIndexOf("\n") + 1;
      offsets.set(f, from + Buffer.byteLength(text.slice(0, complete)));
      for (const r of parseLines(text.slice(0, complete))) if (matchesFlow(r, filter)) emit(r);
    }
  }
}

function endpoint(ns: string, name: string, ip: string, port: number): string {
  const who = name === "-" ? ip : `${ns}/${name}`;
  return port ? `${who}:${port}` : who;
}

/** The deciding policy: the last one the flow met, as `np/prod/web rule 0`. */
export function decidingPolicy(r: FlowLog): string {
  const last = r.policies.all_policies.at(-1);
  if (!last) return "-";
  const [, , name, , rule] = last.split("|");
  return rule === "-1" ? `${name}` : `${name} rule ${rule}`;
}

export function formatFlowHeader(): string {
  return `${"TIME".padEnd(9)} ${"NODE".padEnd(7)} ${"REP".padEnd(4)} ${"ACTION".padEnd(6)} ${"SOURCE".padEnd(26)} ${"DESTINATION".padEnd(26)} ${"PROTO".padEnd(5)} ${"PKTS".padStart(6)} ${"BYTES".padStart(8)}  POLICY`;
}

export function formatFlow(r: FlowLog): string {
  const time = new Date(r.end_time * 1000).toISOString().slice(11, 19);
  const packets = r.reporter === "src" ? r.packets_out : r.packets_in;
  const bytes = r.reporter === "src" ? r.bytes_out : r.bytes_in;
  return `${time.padEnd(9)} ${r.host.padEnd(7)} ${r.reporter.padEnd(4)} ${r.action.padEnd(6)} ${endpoint(r.source_namespace, r.source_name, r.source_ip, 0).padEnd(26)} ${endpoint(r.dest_namespace, r.dest_name, r.dest_ip, r.dest_port).padEnd(26)} ${r.proto.padEnd(5)} ${String(packets).padStart(6)} ${String(bytes).padStart(8)}  ${decidingPolicy(r)}`;
}
