/**
 * The faults `calico-lab chaos` injects, one at a time and then together. Each returns how to
 * lift it and which restarts it causes on purpose (anything else restarting is counted).
 */
import { run, runOk } from "../../lib/exec.js";
import { withClient } from "../datastore.js";
import { clusterWritable, type EtcdMember, findLeader, killMember, restartMember } from "../etcd-cluster.js";
import { startNode } from "../nodes.js";
import { killGroup, sleep } from "../processes.js";
import type { LabPaths, LabState } from "../state.js";
import { restartTypha } from "../typha.js";

export interface FaultContext {
  paths: LabPaths;
  state: LabState;
  save(): void;
  quick: boolean;
}

export interface Injected {
  /** Lifts the fault (restarts what was killed, brings the link up, removes the garbage). */
  recover(): Promise<void>;
  /** Restart keys (see checks.ts) this fault causes on purpose. */
  expected: string[];
}

export interface Fault {
  /** `--only` name. */
  id: string;
  title: string;
  /** Takes a node's own link down: its established connections may break. */
  linkDown: boolean;
  /** Why it cannot run in this lab, if it cannot. */
  unavailable(state: LabState): string | undefined;
  inject(ctx: FaultContext): Promise<Injected>;
}

const noCluster = (s: LabState) =>
  (s.etcdMembers?.length ?? 0) < 3 ? "needs an etcd cluster (up --etcd 3)" : undefined;

const secondNode = (s: LabState) => s.nodes[1]?.name ?? (s.nodes[0]?.name as string);
const firstNode = (s: LabState) => s.nodes[0]?.name as string;

async function killEtcdLeader(ctx: FaultContext): Promise<Injected> {
  const members = ctx.state.etcdMembers ?? [];
  const leader = (await findLeader(members)) ?? (members[0] as EtcdMember);
  await killMember(leader);
  return {
    expected: [`etcd:${leader.name}`],
    recover: async () => {
      restartMember(ctx.paths, ctx.state, leader);
      ctx.save();
    },
  };
}

async function loseQuorum(ctx: FaultContext): Promise<Injected> {
  const members = ctx.state.etcdMembers ?? [];
  const leader = await findLeader(members);
  // The leader and one follower: the survivor has no quorum and no leader.
  const victims = [leader ?? members[0], members.find((m) => m !== (leader ?? members[0]))] as EtcdMember[];
  for (const m of victims) await killMember(m);
  await sleep(ctx.quick ? 5_000 : 30_000);
  return {
    expected: victims.map((m) => `etcd:${m.name}`),
    recover: async () => {
      for (const m of victims) restartMember(ctx.paths, ctx.state, m);
      ctx.save();
    },
  };
}

async function killCalicoNode(ctx: FaultContext, name: string): Promise<Injected> {
  const node = ctx.state.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node ${name}`);
  // calico-node with Felix and confd, and its BIRD, die at once, as kill -9 of the container
  // would do; a CNI call the runtime is making on that node is not the container's and goes on.
  killGroup(node.pid);
  return {
    expected: [`node:${name}`, `felix:${name}`, `bird:${name}`],
    recover: async () => {
      await startNode(ctx.paths, ctx.state, name);
      ctx.save();
    },
  };
}

async function killBird(ctx: FaultContext): Promise<Injected> {
  const node = ctx.state.nodes.find((n) => n.name === firstNode(ctx.state));
  if (!node) throw new Error("no node");
  const pids = (await run("ip", ["netns", "pids", node.netns])).stdout.split("\n").filter((p) => p.trim());
  for (const pid of pids) {
    const comm = (await run("cat", [`/proc/${pid}/comm`])).stdout.trim();
    if (comm === "bird") process.kill(Number(pid), "SIGKILL");
  }
  // calico-node restarts BIRD itself; nothing to do but wait for it.
  return { expected: [`bird:${node.name}`], recover: async () => undefined };
}

async function flapLink(ctx: FaultContext): Promise<Injected> {
  const fabric = ctx.state.fabric as string;
  const port = `n${firstNode(ctx.state).slice(4)}`;
  await runOk("ip", ["-n", fabric, "link", "set", port, "down"]);
  await sleep(ctx.quick ? 2_000 : 5_000);
  return {
    expected: [],
    recover: async () => {
      await runOk("ip", ["-n", fabric, "link", "set", port, "up"]);
    },
  };
}

async function killTypha(ctx: FaultContext): Promise<Injected> {
  const typha = ctx.state.typhas?.[0];
  if (!typha?.pid) throw new Error("no Typha");
  try {
    process.kill(typha.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
  await sleep(1_000);
  return {
    expected: [`typha:${typha.name}`],
    recover: async () => {
      await restartTypha(ctx.paths, ctx.state, typha);
      ctx.save();
    },
  };
}

const R = "/calico/resources/v3/projectcalico.org";

/** Values no Calico component would write, under keys every component reads. */
export function malformedValues(node: string): Record<string, string> {
  return {
    [`${R}/globalnetworkpolicies/chaos-bad-json`]: '{"kind":"GlobalNetworkPolicy","metadata":',
    [`${R}/globalnetworkpolicies/chaos-wrong-types`]: JSON.stringify({
      kind: "GlobalNetworkPolicy",
      apiVersion: "projectcalico.org/v3",
      metadata: { name: "chaos-wrong-types" },
      spec: { selector: 42, ingress: "allow" },
    }),
    [`${R}/networkpolicies/chaos/chaos-wrong-kind`]: JSON.stringify({
      kind: "IPPool",
      metadata: { name: "chaos-wrong-kind" },
      spec: { cidr: "10.99.0.0/16" },
    }),
    [`${R}/globalnetworkpolicies/chaos-unknown-fields`]: JSON.stringify({
      kind: "GlobalNetworkPolicy",
      apiVersion: "projectcalico.org/v3",
      metadata: { name: "chaos-unknown-fields" },
      spec: { selector: "app == 'nothing-has-this'", zorp: true, ingress: [{ action: "Allow" }] },
    }),
    [`${R}/workloadendpoints/chaos/${node}-k8s-ghost-eth0`]: JSON.stringify({
      kind: "WorkloadEndpoint",
      metadata: { name: `${node}-k8s-ghost-eth0`, namespace: "chaos" },
      spec: { node, ipNetworks: "10.244.0.1", interfaceName: 3 },
    }),
    [`${R}/nodes/chaos-bad-node`]: JSON.stringify({
      kind: "Node",
      metadata: { name: "chaos-bad-node" },
      spec: { bgp: "x" },
    }),
    [`${R}/ippools/chaos-bad-pool`]: JSON.stringify({
      kind: "IPPool",
      metadata: { name: "chaos-bad-pool" },
      spec: { cidr: 7 },
    }),
    [`${R}/bgppeers/chaos-bad-peer`]: "[]",
    "/calico/ipam/v2/assignment/ipv4/block/10.250.0.0-26": "not json",
    [`/calico/ipam/v2/host/${node}/ipv4/block/10.250.1.0-26`]: "{{",
    "/calico/ipam/v2/handle/chaos-bad-handle": "[]",
  };
}

async function writeMalformed(ctx: FaultContext): Promise<Injected> {
  const values = malformedValues(firstNode(ctx.state));
  await withClient(ctx.paths, async (_c, store) => {
    for (const [k, v] of Object.entries(values)) await store.kv.put(k, v);
  });
  await sleep(ctx.quick ? 2_000 : 5_000);
  return {
    expected: [],
    recover: () =>
      withClient(ctx.paths, async (_c, store) => {
        for (const k of Object.keys(values)) await store.kv.delete(k).catch(() => undefined);
      }),
  };
}

async function combined(ctx: FaultContext): Promise<Injected> {
  const parts = [
    await killEtcdLeader(ctx),
    await killCalicoNode(ctx, secondNode(ctx.state)),
    await (async () => {
      // Written once a leader is back, while calico-node is down.
      for (let i = 0; i < 100 && !(await clusterWritable(ctx.state.etcdMembers ?? [])); i++) await sleep(100);
      return writeMalformed(ctx);
    })(),
  ];
  return {
    expected: parts.flatMap((p) => p.expected),
    recover: async () => {
      for (const p of parts) await p.recover();
    },
  };
}

export const FAULTS: readonly Fault[] = [
  {
    id: "etcd-leader",
    title: "etcd leader killed",
    linkDown: false,
    unavailable: noCluster,
    inject: killEtcdLeader,
  },
  {
    id: "etcd-quorum",
    title: "etcd quorum lost",
    linkDown: false,
    unavailable: noCluster,
    inject: loseQuorum,
  },
  {
    id: "calico-node",
    title: "calico-node killed -9",
    linkDown: false,
    unavailable: () => undefined,
    inject: (ctx) => killCalicoNode(ctx, firstNode(ctx.state)),
  },
  { id: "bird", title: "BIRD killed", linkDown: false, unavailable: () => undefined, inject: killBird },
  {
    id: "link-flap",
    title: "node link flapped",
    linkDown: true,
    unavailable: () => undefined,
    inject: flapLink,
  },
  {
    id: "typha",
    title: "Typha killed",
    linkDown: false,
    unavailable: (s) => ((s.typhas?.length ?? 0) < 2 ? "needs 2 Typhas (up --typha 2)" : undefined),
    inject: killTypha,
  },
  {
    id: "malformed",
    title: "malformed datastore values",
    linkDown: false,
    unavailable: () => undefined,
    inject: writeMalformed,
  },
  {
    id: "combined",
    title: "combined: leader + calico-node + malformed",
    linkDown: false,
    unavailable: noCluster,
    inject: combined,
  },
];
