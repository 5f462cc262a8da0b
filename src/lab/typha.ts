/**
 * Typha in the lab (`calico-lab up --typha N`): N calico-typha processes, each in its own
 * namespace on the lab's fabric (172.30.0.201…), watching the lab's etcd over its unix socket.
 * Every node's Felix and confd are pointed at all of them (FELIX_TYPHAADDR), each node starting
 * with a different one so the load spreads and a dead Typha's nodes fail over to the next.
 */
import { join } from "node:path";
import { run, runOk } from "../lib/exec.js";
import { labEtcdEndpoints } from "./datastore.js";
import { attachHost } from "./fabric.js";
import { BIN, detached, nsPath } from "./processes.js";
import type { LabPaths, LabState } from "./state.js";

export const TYPHA_PORT = 5473;
const HEALTH_PORT = 9098;
export const MAX_TYPHAS = 5;

export type LabTypha = NonNullable<LabState["typhas"]>[number];

const typhaIP = (i: number) => `172.30.0.${200 + i}`;

async function ready(netns: string): Promise<boolean> {
  const probe = `fetch("http://127.0.0.1:${HEALTH_PORT}/readiness").then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))`;
  return (await run("nsenter", [`--net=${nsPath(netns)}`, process.execPath, "-e", probe])).code === 0;
}

/** Creates the Typha namespaces, starts Typha in each and waits until every one is ready. */
export async function startTyphas(
  paths: LabPaths,
  state: LabState,
  count: number,
  save: () => void,
  progress: (msg: string) => void,
): Promise<void> {
  if (!state.fabric) throw new Error("the fabric must exist before Typha");
  state.typhas = [];
  for (let i = 1; i <= count; i++) {
    const name = `typha${i}`;
    const netns = `${state.prefix}-${name}`;
    await runOk("ip", ["netns", "add", netns]);
    const typha: LabTypha = { name, netns, ip: typhaIP(i) };
    state.typhas.push(typha);
    save();
    await attachHost(state.fabric, `t${i}`, { netns, address: `${typha.ip}/24` });
    progress(`starting calico-typha ${name} at ${typha.ip}:${TYPHA_PORT}`);
    launchTypha(paths, typha, count);
    save();
  }
  for (const t of state.typhas) await waitTyphaReady(paths, t);
}

function launchTypha(paths: LabPaths, typha: LabTypha, replicas: number): void {
  typha.pid = detached(
    ["nsenter", `--net=${nsPath(typha.netns)}`, process.execPath, BIN("calico-typha")],
    {
      PATH: process.env.PATH,
      TYPHA_ETCDENDPOINTS: labEtcdEndpoints(paths).join(","),
      TYPHA_LOGFILEPATH: "none",
      TYPHA_LOGSEVERITYSYS: "none",
      TYPHA_HEALTHENABLED: "true",
      TYPHA_HEALTHHOST: "127.0.0.1",
      TYPHA_CONNECTIONREBALANCINGMODE: "static",
      TYPHA_REPLICAS: String(replicas),
    },
    join(paths.dir, typha.name, "typha.log"),
  );
}

async function waitTyphaReady(paths: LabPaths, t: LabTypha): Promise<void> {
  for (let tries = 0; !(await ready(t.netns)); tries++) {
    if (tries > 150) throw new Error(`${t.name} is not ready; see ${join(paths.dir, t.name, "typha.log")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts a Typha that died (or was killed) again in its namespace, and waits until it is ready. */
export async function restartTypha(paths: LabPaths, state: LabState, typha: LabTypha): Promise<void> {
  launchTypha(paths, typha, (state.typhas ?? []).length);
  await waitTyphaReady(paths, typha);
}

/** What a node adds to its environment: every Typha, starting from its own share. */
export function typhaNodeEnv(state: LabState, node: string): Record<string, string> {
  const typhas = state.typhas ?? [];
  if (typhas.length === 0) return {};
  const index = Math.max(
    0,
    state.nodes.findIndex((n) => n.name === node),
  );
  const order = typhas.map((_, i) => typhas[(index + i) % typhas.length] as LabTypha);
  return { FELIX_TYPHAADDR: order.map((t) => `${t.ip}:${TYPHA_PORT}`).join(",") };
}

/** The Typhas a node is connected to right now (Felix and confd each hold one connection). */
export async function typhasInUse(state: LabState, netns: string): Promise<string[]> {
  const typhas = state.typhas ?? [];
  if (typhas.length === 0) return [];
  const out = await run("ip", [
    "netns",
    "exec",
    netns,
    "ss",
    "-Htn",
    "state",
    "established",
    `( dport = :${TYPHA_PORT} )`,
  ]);
  const names = out.stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/).pop() ?? "")
    .map((peer) => typhas.find((t) => peer === `${t.ip}:${TYPHA_PORT}`)?.name)
    .filter((n): n is string => n !== undefined);
  return [...new Set(names)].sort();
}
