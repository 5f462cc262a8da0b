/**
 * A multi-node Calico cluster on one host: node namespaces on a bridged fabric, each running
 * calico-node (Felix + BIRD), a private etcd, and pods wired by the calico CNI plugin exactly as a
 * runtime calls it. Everything it makes is named with its prefix and recorded in its state file;
 * the host's own networking is never touched. This class is the lab's surface; each concern
 * lives in its own module (nodes, pods, status, the datastore, the fabric).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import type { FlowFilter, FlowLog } from "../felix/flowlogs/index.js";
import { run, runOk } from "../lib/exec.js";
import { etcdUrl, startEtcd } from "./datastore.js";
import { labDockerDown } from "./docker.js";
import { addFabricIPv6, type Family } from "./dualstack.js";
import { ETCD_SIZES, startEtcdCluster, stopEtcdCluster } from "./etcd-cluster.js";
import { createBridge, enableRouting } from "./fabric.js";
import { followFlows, readFlows } from "./flows.js";
import { DEFAULT_NETWORK, fabricBridges, type LabNetwork, usesBgp } from "./network.js";
import {
  addNodeNamespace,
  bgpEstablished,
  checkIpip,
  findNode,
  forgetNode,
  MAX_NODES,
  nodeEnv,
  startNode,
  waitReady,
  waitSessions,
} from "./nodes.js";
import * as pods from "./pods.js";
import { killAndWait, killNamespace, LabError, nsPath, type Progress } from "./processes.js";
import { checkRouteReflectors, configureRouteReflectors, routeReflectorNames } from "./route-reflectors.js";
import {
  type LabNode,
  type LabPaths,
  type LabPod,
  type LabState,
  labPaths,
  loadState,
  saveState,
} from "./state.js";
import { labStatus } from "./status.js";
import type { LabTrace } from "./trace.js";
import { MAX_TYPHAS, startTyphas } from "./typha.js";

/** Nodes started together by `up`; the rest wait until these are ready. */
const START_BATCH = 4;

export class Lab {
  constructor(readonly paths: LabPaths = labPaths()) {}

  /** The running lab's record (the web view reads it on every refresh). */
  currentState(): LabState {
    return this.state();
  }

  private state(): LabState {
    const s = loadState(this.paths);
    if (!s?.etcd) throw new LabError("no lab is running: start one with `calico-lab up`");
    return s;
  }

  etcdUrl(): string {
    return etcdUrl(this.state());
  }

  nodeEnv(name: string, net: LabNetwork = DEFAULT_NETWORK, ipv6?: boolean): NodeJS.ProcessEnv {
    return nodeEnv(this.paths, name, net, ipv6);
  }

  async up(
    nodes: number,
    progress: Progress,
    network: LabNetwork = DEFAULT_NETWORK,
    opts: {
      ipv6?: boolean;
      typha?: number;
      routeReflectors?: number;
      flowLogs?: boolean;
      etcd?: number;
    } = {},
  ): Promise<void> {
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES)
      throw new LabError(`--nodes must be between 1 and ${MAX_NODES}, not ${nodes}`);
    const typhas = opts.typha ?? 0;
    if (!Number.isInteger(typhas) || typhas < 0 || typhas > MAX_TYPHAS)
      throw new LabError(`--typha must be between 0 and ${MAX_TYPHAS}, not ${typhas}`);
    if (!ETCD_SIZES.includes(opts.etcd ?? 1))
      throw new LabError(`--etcd must be one of ${ETCD_SIZES.join(", ")}, not ${opts.etcd}`);
    if (loadState(this.paths)?.etcd)
      throw new LabError(`a lab is already running in ${this.paths.dir}: run \`calico-lab down\` first`);
    if (network.encap === "ipip") await checkIpip(this.paths.prefix);
    if (typhas > 0 && network.fabric === "l3")
      throw new LabError("--typha needs the l2 fabric: the Typhas sit on its bridge");
    if (opts.ipv6 && network.fabric === "l3")
      throw new LabError("--ipv6 needs the l2 fabric: the l3 fabric's router is IPv4 only");
    checkRouteReflectors(opts.routeReflectors ?? 0, nodes, network);
    const { prefix } = this.paths;
    const state: LabState = {
      prefix,
      nodes: [],
      namespaces: {},
      pods: {},
      ...(opts.ipv6 ? { ipv6: true } : {}),
      ...(opts.flowLogs ? { flowLogs: true } : {}),
    };
    if (network !== DEFAULT_NETWORK) state.network = network;
    mkdirSync(this.paths.dir, { recursive: true });
    saveState(this.paths, state);

    const etcdSize = opts.etcd ?? 1;
    if (etcdSize > 1) {
      progress(`starting a ${etcdSize}-member etcd cluster`);
      await startEtcdCluster(this.paths, state, etcdSize, () => saveState(this.paths, state));
    } else {
      progress("starting etcd");
      await startEtcd(this.paths, (etcd) => {
        state.etcd = etcd;
        saveState(this.paths, state);
      });
    }

    progress(`creating the fabric and ${nodes} node namespaces`);
    const fabric = `${prefix}-fabric`;
    await runOk("ip", ["netns", "add", fabric]);
    state.fabric = fabric;
    saveState(this.paths, state);
    // On L2 the fabric's "router" is a dead end, but nodes need a default route for proxy ARP to
    // answer pods' ARP for 169.254.1.1 (the kernel only proxies for addresses routed elsewhere).
    // On L3 it routes between the node subnets, and knows nothing of pod addresses.
    for (const b of fabricBridges(network))
      await createBridge(fabric, b.gateway, {
        bridge: b.bridge,
        ...(network.mtu ? { mtu: network.mtu } : {}),
      });
    if (network.fabric === "l3") await enableRouting(fabric);
    if (opts.ipv6) await addFabricIPv6(fabric);
    for (let i = 1; i <= nodes; i++) await addNodeNamespace(this.paths, state, i);
    state.lastNodeIndex = nodes;
    if (typhas > 0)
      await startTyphas(this.paths, state, typhas, () => saveState(this.paths, state), progress);
    if (opts.routeReflectors) {
      const reflectors = routeReflectorNames(
        state.nodes.map((n) => n.name),
        opts.routeReflectors,
      );
      progress(`making ${reflectors.join(", ")} route reflectors; turning the node-to-node mesh off`);
      await configureRouteReflectors(this.paths, reflectors);
      state.routeReflectors = reflectors;
      saveState(this.paths, state);
    }
    writeFileSync(this.paths.netconf, `${JSON.stringify(this.netconf(), null, 2)}\n`);
    // A few nodes at a time, each batch ready before the next starts: dozens of calico-nodes
    // starting together on a small host mostly wait for each other. The default lab is one batch.
    for (let i = 0; i < state.nodes.length; i += START_BATCH) {
      const batch = state.nodes.slice(i, i + START_BATCH);
      for (const node of batch) {
        progress(`starting calico-node on ${node.name}`);
        await startNode(this.paths, state, node.name);
      }
      progress(
        i === 0 && batch.length === state.nodes.length
          ? "waiting for Felix and BGP to be ready on every node"
          : `waiting for Felix and BGP to be ready on ${batch.map((n) => n.name).join(", ")}`,
      );
      await waitReady(
        this.paths,
        state,
        progress,
        batch.map((n) => n.name),
      );
    }
    if (state.nodes.length > START_BATCH && usesBgp(network)) await waitSessions(this.paths, state, progress);
  }

  /** A new node joins: its namespace on the fabric, calico-node started, ready. */
  async nodeAdd(progress: Progress, subnet?: number): Promise<LabNode> {
    const state = this.state();
    if (state.nodes.length >= MAX_NODES) throw new LabError(`the lab holds at most ${MAX_NODES} nodes`);
    // A departed node's name and address are never reused: the others' ARP caches would still
    // hold its old MAC for half a minute, as with a replaced host on a real segment.
    const i = (state.lastNodeIndex ?? Math.max(0, ...state.nodes.map((n) => Number(n.name.slice(4))))) + 1;
    if (i > 200) throw new LabError("this lab has used up its 200 node addresses");
    state.lastNodeIndex = i;
    const node = await addNodeNamespace(this.paths, state, i, subnet);
    progress(`starting calico-node on ${node.name}`);
    await startNode(this.paths, state, node.name);
    await waitReady(this.paths, state, progress, [node.name]);
    return node;
  }

  /**
   * A node leaves for good: its processes and namespace go, then what the datastore holds for it
   * (tunnel addresses, block affinities, the Node itself), as decommissioning a host does.
   */
  async nodeRemove(name: string, progress: Progress): Promise<void> {
    const state = this.state();
    const node = findNode(state, name);
    const onNode = Object.entries(state.pods)
      .filter(([, p]) => p.node === name)
      .map(([ref]) => ref);
    if (onNode.length > 0)
      throw new LabError(`${name} still runs ${onNode.join(", ")}: delete those pods first`);
    progress(`stopping ${name}`);
    await this.killNode(name);
    await removeAgentSockets([node.netns]);
    await run("ip", ["netns", "del", node.netns]);
    await forgetNode(this.paths, name);
    state.nodes = state.nodes.filter((n) => n.name !== name);
    saveState(this.paths, state);
    progress(`${name} removed`);
  }

  /** Kills a node's calico-node (and the BIRD it runs), as a crash would. */
  async killNode(name: string): Promise<void> {
    const state = this.state();
    const node = findNode(state, name);
    await killNamespace(node.netns);
    node.pid = undefined;
    saveState(this.paths, state);
  }

  async restartNode(name: string, progress: Progress): Promise<void> {
    const state = this.state();
    await startNode(this.paths, state, name);
    await waitReady(this.paths, state, progress, [name]);
  }

  /** Established BGP sessions of a node's BIRD. */
  bgpEstablished(name: string): Promise<number> {
    return bgpEstablished(this.paths, name);
  }

  netconf(): Record<string, unknown> {
    return pods.labNetconf(this.paths);
  }

  async down(progress: Progress): Promise<void> {
    const state = loadState(this.paths);
    const prefix = state?.prefix ?? this.paths.prefix;
    await labDockerDown(this.paths, progress);
    for (const pod of Object.values(state?.pods ?? {})) await killAndWait(pod.serverPid, 1_000);
    const all = (await run("ip", ["netns", "list"])).stdout
      .split("\n")
      .map((l) => l.split(" ")[0] ?? "")
      .filter((n) => n.startsWith(`${prefix}-`));
    if (all.length > 0) progress(`removing ${all.length} namespaces and their processes`);
    for (const ns of all) {
      const pids = (await run("ip", ["netns", "pids", ns])).stdout.split("\n").filter((p) => p.trim());
      for (const p of pids) await killAndWait(Number(p), 2_000);
    }
    for (const node of state?.nodes ?? []) await killAndWait(node.pid, 2_000);
    await removeAgentSockets(all);
    for (const ns of all) await run("ip", ["netns", "del", ns]);
    if (state?.etcd) {
      progress("stopping etcd");
      await killAndWait(state.etcd.pid);
    }
    if (state) await stopEtcdCluster(state);
    rmSync(this.paths.dir, { recursive: true, force: true });
    progress("lab removed");
  }

  namespaceCreate(name: string, labels: Record<string, string>, annotations: Record<string, string> = {}) {
    return pods.namespaceCreate(this.paths, this.state(), name, labels, annotations);
  }

  namespaceLabel(name: string, changes: Record<string, string | null>): Promise<void> {
    return pods.namespaceLabel(this.paths, this.state(), name, changes);
  }

  podCreate(ref: string, opts: pods.PodOptions, progress: Progress): Promise<LabPod> {
    return pods.podCreate(this.paths, this.state(), ref, opts, progress);
  }

  podLabel(ref: string, changes: Record<string, string | null>): Promise<void> {
    return pods.podLabel(this.paths, this.state(), ref, changes);
  }

  podDelete(ref: string): Promise<void> {
    return pods.podDelete(this.paths, this.state(), ref);
  }

  /** `open`, `closed` or `timeout`, probing from inside FROM's namespace (a pod or a node). */
  probe(from: string, to: string, port: number, protocol: string, timeoutMs = 1_000, family?: Family) {
    return pods.probe(this.state(), from, to, port, protocol, timeoutMs, family);
  }

  /** The policy trace for FROM → TO, then a real probe, and whether they agree. */
  async trace(from: string, to: string, port: number, protocol: string): Promise<LabTrace> {
    // Loaded on use: the trace brings Felix's calculation graph, which no other command needs.
    const { labTrace } = await import("./trace.js");
    return labTrace(this.paths, this.state(), from, to, port, protocol);
  }

  matrix(port: number, protocol: string, family?: Family): Promise<pods.MatrixCell[]> {
    return pods.matrix(this.state(), port, protocol, family);
  }

  flows(filter: FlowFilter = {}): FlowLog[] {
    return readFlows(this.paths, this.state(), filter);
  }

  followFlows(filter: FlowFilter, emit: (r: FlowLog) => void, signal?: AbortSignal): Promise<void> {
    return followFlows(this.paths, this.state(), filter, emit, signal);
  }

  status(): Promise<string> {
    return labStatus(this.paths, this.state());
  }

  env(): string {
    return `export DATASTORE_TYPE=etcdv3\nexport ETCD_ENDPOINTS=${this.etcdUrl()}\n`;
  }

  nodeNames(): string[] {
    return this.state().nodes.map((n) => n.name);
  }

  nodeRecord(name: string): LabNode {
    return findNode(this.state(), name);
  }

  podRecord(ref: string): LabPod {
    return pods.findPod(this.state(), ref);
  }
}

/**
 * A killed calico-node leaves its CNI agent's socket, named after its namespace's inode: removed
 * while the namespace still exists, as afterwards its name can no longer be worked out.
 */
async function removeAgentSockets(netnses: readonly string[]): Promise<void> {
  const { agentSocketPath } = await import("../cni/index.js");
  for (const ns of netnses) rmSync(agentSocketPath(nsPath(ns)), { force: true });
}
