/**
 * `calico-lab up --etcd 3`: an etcd cluster of N members instead of one, so a datastore failover
 * can be tried. Member i listens on 127.0.0.i (all of 127/8 is loopback) for its peers and for
 * calicoctl, and on its own unix socket in the lab directory for the nodes, whose namespaces
 * cannot reach the host's loopback. Every client is given every member.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { alive, detached, freePort, killAndWait, LabError, sleep } from "./processes.js";
import type { LabPaths, LabState } from "./state.js";

export type EtcdMember = NonNullable<LabState["etcdMembers"]>[number];

export const ETCD_SIZES = [1, 3, 5];

/** The socket name as etcd takes it (`host:port` form, relative to the lab directory). */
const socketName = (name: string) => `etcd-${name}.sock:0`;

export function memberSocket(paths: LabPaths, m: EtcdMember): string {
  return join(paths.dir, socketName(m.name));
}

/** What the nodes, the CNI plugin and Typha are given: every member's socket. */
export function clusterSocketEndpoints(paths: LabPaths, members: readonly EtcdMember[]): string[] {
  return members.map((m) => `unix://${memberSocket(paths, m)}`);
}

export const memberUrl = (m: EtcdMember) => `http://${m.ip}:${m.port}`;

function memberArgv(paths: LabPaths, m: EtcdMember, cluster: string, token: string): string[] {
  return [
    "etcd",
    "--name",
    m.name,
    "--data-dir",
    join(paths.dir, `etcd-${m.name}`),
    "--listen-client-urls",
    `${memberUrl(m)},unix://${socketName(m.name)}`,
    "--advertise-client-urls",
    memberUrl(m),
    "--listen-peer-urls",
    `http://${m.ip}:${m.peerPort}`,
    "--initial-advertise-peer-urls",
    `http://${m.ip}:${m.peerPort}`,
    // Ignored once the data directory exists, so a restart uses the same command.
    "--initial-cluster",
    cluster,
    "--initial-cluster-state",
    "new",
    "--initial-cluster-token",
    token,
  ];
}

function launch(paths: LabPaths, state: LabState, m: EtcdMember): number {
  const members = state.etcdMembers ?? [];
  const cluster = members.map((x) => `${x.name}=http://${x.ip}:${x.peerPort}`).join(",");
  return detached(
    memberArgv(paths, m, cluster, `${state.prefix}-etcd`),
    { PATH: process.env.PATH },
    join(paths.dir, `etcd-${m.name}.log`),
    paths.dir,
  );
}

/** Member status from etcd's JSON gateway; undefined when it does not answer. */
export async function memberStatus(
  m: EtcdMember,
  timeoutMs = 1_000,
): Promise<{ id: string; leader: string; term: string } | undefined> {
  try {
    const res = await fetch(`${memberUrl(m)}/v3/maintenance/status`, {
      method: "POST",
      body: "{}",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json()) as {
      header?: { member_id?: string };
      leader?: string;
      raftTerm?: string;
    };
    if (!body.header?.member_id) return undefined;
    return { id: body.header.member_id, leader: body.leader ?? "0", term: body.raftTerm ?? "0" };
  } catch {
    return undefined;
  }
}

/** The member every answering member names as leader, or undefined while there is none. */
export async function findLeader(members: readonly EtcdMember[]): Promise<EtcdMember | undefined> {
  const statuses = await Promise.all(members.map(async (m) => ({ m, s: await memberStatus(m) })));
  const leaderId = statuses.find((x) => x.s && x.s.leader !== "0")?.s?.leader;
  if (!leaderId) return undefined;
  return statuses.find((x) => x.s?.id === leaderId)?.m;
}

/** A write through any member succeeds: the cluster has a leader and quorum. */
export async function clusterWritable(members: readonly EtcdMember[], timeoutMs = 1_000): Promise<boolean> {
  const key = Buffer.from("/calico-lab/health").toString("base64");
  for (const m of members) {
    if (!alive(m.pid)) continue;
    try {
      const res = await fetch(`${memberUrl(m)}/v3/kv/put`, {
        method: "POST",
        body: JSON.stringify({ key, value: key }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.ok && !("error" in ((await res.json()) as object))) return true;
    } catch {
      // Try the next member.
    }
  }
  return false;
}

/** Starts every member, records them, and returns once the cluster takes writes. */
export async function startEtcdCluster(
  paths: LabPaths,
  state: LabState,
  size: number,
  save: () => void,
): Promise<void> {
  if (!ETCD_SIZES.includes(size))
    throw new LabError(`--etcd must be one of ${ETCD_SIZES.join(", ")}, not ${size}`);
  const members: EtcdMember[] = [];
  for (let i = 1; i <= size; i++) {
    const ip = `127.0.0.${i}`;
    members.push({ name: `etcd${i}`, ip, port: await freePort(), peerPort: await freePort(), pid: 0 });
  }
  state.etcdMembers = members;
  for (const m of members) m.pid = launch(paths, state, m);
  const first = members[0] as EtcdMember;
  // The single-member fields keep `down` and older readers working: they name the first member.
  state.etcd = { pid: first.pid, port: first.port };
  save();
  for (let i = 0; !(await clusterWritable(members)); i++) {
    if (i > 150 || members.some((m) => !alive(m.pid)))
      throw new LabError(`the etcd cluster did not form; see ${join(paths.dir, "etcd-etcd1.log")}`);
    await sleep(100);
  }
}

/** Kills a member with SIGKILL, as a crash would. */
export async function killMember(m: EtcdMember): Promise<void> {
  if (!alive(m.pid)) return;
  process.kill(m.pid, "SIGKILL");
  for (let i = 0; alive(m.pid) && i < 100; i++) await sleep(20);
}

/** Starts a stopped member again from its data directory. */
export function restartMember(paths: LabPaths, state: LabState, m: EtcdMember): void {
  // A killed member leaves its socket file behind, and etcd will not listen over it.
  rmSync(memberSocket(paths, m), { force: true });
  m.pid = launch(paths, state, m);
  if (state.etcd && state.etcdMembers?.[0]?.name === m.name) state.etcd.pid = m.pid;
}

export async function stopEtcdCluster(state: LabState): Promise<void> {
  for (const m of state.etcdMembers ?? []) await killAndWait(m.pid);
}

/** `status` lines: each member, whether it runs, and which one leads. */
export async function clusterStatusLines(state: LabState): Promise<string[]> {
  const members = state.etcdMembers ?? [];
  const leader = await findLeader(members);
  return [
    `etcd: ${members.length}-member cluster, leader ${leader?.name ?? "NONE (no quorum)"}`,
    ...members.map(
      (m) =>
        `  ${m.name}: ${memberUrl(m)} (pid ${m.pid}, ${alive(m.pid) ? "running" : "NOT RUNNING"})${m === leader ? " leader" : ""}`,
    ),
  ];
}
