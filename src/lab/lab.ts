/**
 * A multi-node Calico cluster on one host: node namespaces on a bridged fabric, each running
 * calico-node (Felix + BIRD), a private etcd, and pods wired by the calico CNI plugin exactly as a
 * runtime calls it. Everything it makes is named with its prefix and recorded in its state file;
 * the host's own networking is never touched.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Resource } from "../api/index.js";
import { BirdClient } from "../bgp/index.js";
import { CalicoClient } from "../client/index.js";
import { CalicoResourceStore, EtcdKV } from "../datastore/index.js";
import { IPAMClient } from "../ipam/index.js";
import { type ExecResult, run, runOk } from "../lib/exec.js";
import { TUNNEL_TYPES, tunnelHandle } from "../node/index.js";
import { labDockerDown } from "./docker.js";
import {
  addFabricIPv6,
  addNodeIPv6,
  addressFor,
  type Family,
  familyOf,
  ipv6NodeEnv,
  podAnnotations,
} from "./dualstack.js";
import { attachHost, createBridge, enableRouting } from "./fabric.js";
import {
  DEFAULT_NETWORK,
  describeNetwork,
  encapEnv,
  fabricBridges,
  type LabNetwork,
  nodeAddress,
  usesBgp,
} from "./network.js";
import {
  type LabNode,
  type LabPaths,
  type LabPod,
  type LabState,
  labPaths,
  loadState,
  saveState,
} from "./state.js";
import { MAX_TYPHAS, startTyphas, typhaNodeEnv, typhasInUse } from "./typha.js";

const API = "projectcalico.org/v3";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = (name: string) => join(ROOT, "bin", name);
export const DIST = (file: string) => join(ROOT, "dist", "lab", file);
export const POD_CIDR = "10.244.0.0/16";

export class LabError extends Error {}

type Progress = (msg: string) => void;

export const nsPath = (ns: string) => `/run/netns/${ns}`;
const inNs = (ns: string, argv: string[], input?: string): Promise<ExecResult> =>
  run("nsenter", [`--net=${nsPath(ns)}`, ...argv], input === undefined ? {} : { input });

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function detached(argv: string[], env: NodeJS.ProcessEnv, logFile: string, cwd?: string): number {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, "a");
  const [file, ...args] = argv;
  const child = spawn(file as string, args, {
    env,
    detached: true,
    stdio: ["ignore", fd, fd],
    ...(cwd ? { cwd } : {}),
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new LabError(`could not start ${argv.join(" ")}`);
  return child.pid;
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killAndWait(pid: number | undefined, ms = 5_000): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid as number, "SIGTERM");
  const end = Date.now() + ms;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid as number, "SIGKILL");
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export class Lab {
  constructor(readonly paths: LabPaths = labPaths()) {}

  private state(): LabState {
    const s = loadState(this.paths);
    if (!s?.etcd) throw new LabError("no lab is running: start one with `calico-lab up`");
    return s;
  }

  etcdUrl(state = this.state()): string {
    return `http://127.0.0.1:${state.etcd?.port}`;
  }

  /** The store, over the unix socket every namespace can reach. */
  private async withClient<T>(
    fn: (client: CalicoClient, store: CalicoResourceStore) => Promise<T>,
  ): Promise<T> {
    const kv = new EtcdKV({ endpoints: [`unix://${this.paths.etcdSocket}`] });
    try {
      const store = new CalicoResourceStore(kv);
      return await fn(new CalicoClient(store), store);
    } finally {
      await kv.close();
    }
  }

  nodeEnv(
    name: string,
    net: LabNetwork = DEFAULT_NETWORK,
    ipv6 = loadState(this.paths)?.ipv6 === true,
  ): NodeJS.ProcessEnv {
    const d = join(this.paths.dir, name);
    return {
      ...encapEnv(net),
      ...ipv6NodeEnv(ipv6),
      PATH: process.env.PATH,
      NODENAME: name,
      DATASTORE_TYPE: "etcdv3",
      ETCD_ENDPOINTS: `unix://${this.paths.etcdSocket}`,
      IP: "autodetect",
      IP_AUTODETECTION_METHOD: "interface=eth0",
      CALICO_IPV4POOL_CIDR: POD_CIDR,
      CALICO_NODENAME_FILE: join(d, "nodename"),
      CALICO_RUN_DIR: join(d, "run"),
      CALICO_CONFD_DIR: join(d, "confd"),
      FELIX_HEALTHENABLED: "true",
      FELIX_LOGFILEPATH: "none",
      FELIX_LOGSEVERITYSCREEN: "Info",
      FELIX_MTUFILEPATH: join(d, "mtu"),
    };
  }

  async up(
    nodes: number,
    progress: Progress,
    network: LabNetwork = DEFAULT_NETWORK,
    opts: { ipv6?: boolean; typha?: number } = {},
  ): Promise<void> {
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 50)
      throw new LabError(`--nodes must be between 1 and 50, not ${nodes}`);
    const typhas = opts.typha ?? 0;
    if (!Number.isInteger(typhas) || typhas < 0 || typhas > MAX_TYPHAS)
      throw new LabError(`--typha must be between 0 and ${MAX_TYPHAS}, not ${typhas}`);
    if (loadState(this.paths)?.etcd)
      throw new LabError(`a lab is already running in ${this.paths.dir}: run \`calico-lab down\` first`);
    if (network.encap === "ipip") await this.checkIpip();
    if ((opts.typha ?? 0) > 0 && network.fabric === "l3")
      throw new LabError("--typha needs the l2 fabric: the Typhas sit on its bridge");
    if (opts.ipv6 && network.fabric === "l3")
      throw new LabError("--ipv6 needs the l2 fabric: the l3 fabric's router is IPv4 only");
    const { prefix } = this.paths;
    const state: LabState = {
      prefix,
      nodes: [],
      namespaces: {},
      pods: {},
      ...(opts.ipv6 ? { ipv6: true } : {}),
    };
    if (network !== DEFAULT_NETWORK) state.network = network;
    mkdirSync(this.paths.dir, { recursive: true });
    saveState(this.paths, state);

    progress("starting etcd");
    const port = await freePort();
    const peer = await freePort();
    const pid = detached(
      [
        "etcd",
        "--name",
        "calico-lab",
        "--data-dir",
        this.paths.etcdData,
        "--listen-client-urls",
        `http://127.0.0.1:${port},unix://${this.paths.etcdSocket.split("/").pop()}`,
        "--advertise-client-urls",
        `http://127.0.0.1:${port}`,
        "--listen-peer-urls",
        `http://127.0.0.1:${peer}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${peer}`,
        "--initial-cluster",
        `calico-lab=http://127.0.0.1:${peer}`,
      ],
      { PATH: process.env.PATH },
      join(this.paths.dir, "etcd.log"),
      this.paths.dir,
    );
    state.etcd = { pid, port };
    saveState(this.paths, state);
    for (let i = 0; ; i++) {
      const ok = await this.withClient(async (_c, store) => {
        try {
          await store.kv.get("/calico/lab-probe");
          return true;
        } catch {
          return false;
        }
      });
      if (ok) break;
      if (i > 100 || !alive(pid))
        throw new LabError(`etcd did not start; see ${join(this.paths.dir, "etcd.log")}`);
      await sleep(100);
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
    for (let i = 1; i <= nodes; i++) await this.addNodeNamespace(state, i);
    state.lastNodeIndex = nodes;
    if (typhas > 0)
      await startTyphas(this.paths, state, typhas, () => saveState(this.paths, state), progress);
    for (const node of state.nodes) {
      progress(`starting calico-node on ${node.name}`);
      await this.startNode(state, node.name);
    }
    writeFileSync(this.paths.netconf, `${JSON.stringify(this.netconf(), null, 2)}\n`);
    progress("waiting for Felix and BGP to be ready on every node");
    await this.waitReady(state, progress);
  }

  /** The namespace of node `i`, plugged into its subnet's bridge with its default route. */
  private async addNodeNamespace(state: LabState, i: number, subnet?: number): Promise<void> {
    const net = state.network ?? DEFAULT_NETWORK;
    const name = `node${i}`;
    const netns = `${state.prefix}-${name}`;
    const addr = nodeAddress(net, i, subnet);
    await runOk("ip", ["netns", "add", netns]);
    state.nodes.push({ name, netns, ip: addr.ip, ...(net.fabric === "l3" ? { subnet: addr.subnet } : {}) });
    saveState(this.paths, state);
    await attachHost(
      state.fabric as string,
      `n${i}`,
      { netns, address: `${addr.ip}/${addr.prefixLength}` },
      { bridge: addr.bridge, ...(net.mtu ? { mtu: net.mtu } : {}) },
    );
    await runOk("ip", ["-n", netns, "route", "add", "default", "via", addr.gateway, "dev", "eth0"]);
    if (state.ipv6) (state.nodes.at(-1) as LabNode).ip6 = await addNodeIPv6(netns, i);
  }

  /** `--encap ipip` needs the kernel's ipip module; find out before making anything. */
  private async checkIpip(): Promise<void> {
    const probe = `${this.paths.prefix}-ipipcheck`;
    await runOk("ip", ["netns", "add", probe]);
    try {
      const out = await run("ip", ["-n", probe, "link", "add", "name", "tunl0", "type", "ipip"]);
      if (out.code !== 0)
        throw new LabError(
          `--encap ipip needs the kernel's ipip module, which this kernel lacks (ip link add type ipip: ${out.stderr.trim()}); use --encap vxlan`,
        );
    } finally {
      await run("ip", ["netns", "del", probe]);
    }
  }

  async startNode(state: LabState, name: string): Promise<void> {
    const node = state.nodes.find((n) => n.name === name);
    if (!node) throw new LabError(`no node ${name}`);
    await killAndWait(node.pid);
    node.pid = detached(
      ["nsenter", `--net=${nsPath(node.netns)}`, process.execPath, BIN("calico-node")],
      { ...this.nodeEnv(name, state.network), ...typhaNodeEnv(state, name) },
      join(this.paths.dir, name, "calico-node.log"),
    );
    saveState(this.paths, state);
  }

  /** A new node joins: its namespace on the fabric, calico-node started, ready. */
  async nodeAdd(progress: Progress, subnet?: number): Promise<LabNode> {
    const state = this.state();
    if (state.nodes.length >= 50) throw new LabError("the lab holds at most 50 nodes");
    // A departed node's name and address are never reused: the others' ARP caches would still
    // hold its old MAC for half a minute, as with a replaced host on a real segment.
    const i = (state.lastNodeIndex ?? Math.max(0, ...state.nodes.map((n) => Number(n.name.slice(4))))) + 1;
    if (i > 200) throw new LabError("this lab has used up its 200 node addresses");
    state.lastNodeIndex = i;
    await this.addNodeNamespace(state, i, subnet);
    const name = `node${i}`;
    progress(`starting calico-node on ${name}`);
    await this.startNode(state, name);
    await this.waitReady(state, progress, [name]);
    return state.nodes.find((n) => n.name === name) as LabNode;
  }

  /**
   * A node leaves for good: its processes and namespace go, then what the datastore holds for it
   * (tunnel addresses, block affinities, the Node itself), as decommissioning a host does.
   */
  async nodeRemove(name: string, progress: Progress): Promise<void> {
    const state = this.state();
    const node = state.nodes.find((n) => n.name === name);
    if (!node) throw new LabError(`no node ${name}`);
    const pods = Object.entries(state.pods)
      .filter(([, p]) => p.node === name)
      .map(([ref]) => ref);
    if (pods.length > 0) throw new LabError(`${name} still runs ${pods.join(", ")}: delete those pods first`);
    progress(`stopping ${name}`);
    await this.killNode(name);
    await run("ip", ["netns", "del", node.netns]);
    await this.withClient(async (_client, store) => {
      const ipam = IPAMClient.fromResourceStore(store, { defaultHostname: name });
      for (const t of TUNNEL_TYPES)
        await ipam.releaseByHandle(tunnelHandle(t.kind, name)).catch(() => undefined);
      await ipam.removeIPAMHost(name);
      for (const key of [
        { kind: "FelixConfiguration", name: `node.${name}` },
        { kind: "Node", name },
      ] as const)
        await store.delete(key).catch(() => undefined);
    });
    state.nodes = state.nodes.filter((n) => n.name !== name);
    saveState(this.paths, state);
    rmSync(join(this.paths.dir, name), { recursive: true, force: true });
    progress(`${name} removed`);
  }

  /** Kills a node's calico-node (and the BIRD it runs), as a crash would. */
  async killNode(name: string): Promise<void> {
    const state = this.state();
    const node = state.nodes.find((n) => n.name === name);
    if (!node) throw new LabError(`no node ${name}`);
    const pids = (await run("ip", ["netns", "pids", node.netns])).stdout.split("\n").filter((p) => p.trim());
    for (const p of pids) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    node.pid = undefined;
    saveState(this.paths, state);
  }

  async restartNode(name: string, progress: Progress): Promise<void> {
    const state = this.state();
    await this.startNode(state, name);
    await this.waitReady(state, progress, [name]);
  }

  /** Established BGP sessions of a node's BIRD. */
  async bgpEstablished(name: string): Promise<number> {
    const client = new BirdClient(join(this.paths.dir, name, "run", "bird.ctl"));
    try {
      return (await client.showProtocols()).filter(
        (p) => p.proto === "BGP" && p.info.startsWith("Established"),
      ).length;
    } catch {
      return 0;
    }
  }

  /**
   * calico-node's own readiness, and at least one Established session when there are other nodes
   * (right after start a node may not know its peers yet, and then "all sessions up" is vacuous).
   */
  async nodeReady(state: LabState, name: string): Promise<string[]> {
    const node = state.nodes.find((n) => n.name === name);
    if (!node) return [`no node ${name}`];
    const env = this.nodeEnv(name, state.network);
    const bgp = usesBgp(state.network ?? DEFAULT_NETWORK);
    const argv = [
      `--net=${nsPath(node.netns)}`,
      process.execPath,
      BIN("calico-node"),
      "-felix-ready",
      ...(bgp ? ["-bird-ready"] : []),
    ];
    const out = await run("nsenter", argv, { env });
    if (out.code !== 0)
      return out.stderr
        .trim()
        .split("\n")
        .filter((l) => l);
    if (bgp && state.nodes.length > 1 && (await this.bgpEstablished(name)) === 0)
      return ["no BGP session established yet"];
    return [];
  }

  async waitReady(
    state: LabState,
    progress: Progress,
    names = state.nodes.map((n) => n.name),
    timeoutMs = 90_000,
  ): Promise<void> {
    const end = Date.now() + timeoutMs;
    let pending = names;
    while (pending.length > 0) {
      const results = await Promise.all(
        pending.map(async (n) => [n, await this.nodeReady(state, n)] as const),
      );
      pending = results.filter(([, f]) => f.length > 0).map(([n]) => n);
      if (pending.length === 0) break;
      if (Date.now() > end) {
        const why = results.filter(([, f]) => f.length > 0).map(([n, f]) => `${n}: ${f.join("; ")}`);
        throw new LabError(`nodes not ready after ${timeoutMs / 1000} s: ${why.join(" | ")}`);
      }
      await sleep(300);
    }
    progress(`ready: ${names.join(", ")}`);
  }

  netconf(): Record<string, unknown> {
    return {
      cniVersion: "1.0.0",
      name: "k8s-pod-network",
      type: "calico",
      datastore_type: "etcdv3",
      etcd_endpoints: `unix://${this.paths.etcdSocket}`,
      ipam: { type: "calico-ipam", ...(loadState(this.paths)?.ipv6 ? { assign_ipv6: "true" } : {}) },
      policy: { type: "k8s" },
      log_level: "warning",
      log_file_path: join(this.paths.dir, "cni.log"),
    };
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
    for (const ns of all) await run("ip", ["netns", "del", ns]);
    if (state?.etcd) {
      progress("stopping etcd");
      await killAndWait(state.etcd.pid);
    }
    rmSync(this.paths.dir, { recursive: true, force: true });
    progress("lab removed");
  }

  async namespaceCreate(
    name: string,
    labels: Record<string, string>,
    annotations: Record<string, string> = {},
  ): Promise<void> {
    const state = this.state();
    if (state.namespaces[name]) throw new LabError(`namespace ${name} already exists`);
    await this.withClient((client) => client.create(this.namespaceProfile(name, labels)));
    state.namespaces[name] = labels;
    if (Object.keys(annotations).length > 0)
      state.namespaceAnnotations = { ...(state.namespaceAnnotations ?? {}), [name]: annotations };
    saveState(this.paths, state);
  }

  async namespaceLabel(name: string, changes: Record<string, string | null>): Promise<void> {
    const state = this.state();
    const labels = state.namespaces[name];
    if (!labels) throw new LabError(`namespace ${name} does not exist`);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete labels[k];
      else labels[k] = v;
    }
    await this.withClient(async (client, store) => {
      const current = await store.get({ kind: "Profile", name: `kns.${name}` });
      const next = this.namespaceProfile(name, labels);
      await client.update({ ...next, metadata: { ...current.metadata } } as Resource);
    });
    saveState(this.paths, state);
  }

  /** Calico's picture of a Kubernetes namespace: profile `kns.<ns>` whose labels pods inherit as `pcns.*`. */
  private namespaceProfile(name: string, labels: Record<string, string>): Resource {
    const labelsToApply: Record<string, string> = { "pcns.projectcalico.org/name": name };
    for (const [k, v] of Object.entries(labels)) labelsToApply[`pcns.${k}`] = v;
    return {
      apiVersion: API,
      kind: "Profile",
      metadata: { name: `kns.${name}` },
      spec: { ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }], labelsToApply },
    } as unknown as Resource;
  }

  private pod(state: LabState, ref: string): LabPod {
    const pod = state.pods[ref];
    if (!pod) throw new LabError(`no pod ${ref} (pods are named NAMESPACE/NAME)`);
    return pod;
  }

  private async cni(state: LabState, pod: LabPod, command: "ADD" | "DEL"): Promise<ExecResult> {
    const node = state.nodes.find((n) => n.name === pod.node);
    if (!node) throw new LabError(`no node ${pod.node}`);
    // What Calico's plugin would read from the Kubernetes API, passed as the runtime's args.
    const k8s = {
      podAnnotations: pod.annotations ?? {},
      namespaceAnnotations: state.namespaceAnnotations?.[pod.namespace] ?? {},
    };
    const conf = {
      ...this.netconf(),
      nodename: pod.node,
      nodename_file: join(this.paths.dir, pod.node, "nodename"),
      mtu_file_path: join(this.paths.dir, pod.node, "mtu"),
      args: { k8s },
    };
    return run(
      "nsenter",
      [
        `--net=${nsPath(node.netns)}`,
        "env",
        `CNI_COMMAND=${command}`,
        `CNI_CONTAINERID=${pod.containerId}`,
        `CNI_NETNS=${nsPath(pod.netns)}`,
        "CNI_IFNAME=eth0",
        `CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name}`,
        `CNI_PATH=${join(ROOT, "bin")}:/usr/lib/cni:/opt/cni/bin`,
        process.execPath,
        BIN("calico"),
      ],
      { input: JSON.stringify(conf) },
    );
  }

  async podCreate(
    ref: string,
    opts: {
      node?: string;
      labels: Record<string, string>;
      serve: LabPod["serve"];
      annotations?: Record<string, string>;
      ip?: string[];
      pool?: string;
    },
    progress: Progress,
  ): Promise<LabPod> {
    const state = this.state();
    const [namespace, name, extra] = ref.split("/");
    if (!namespace || !name || extra !== undefined)
      throw new LabError(`pod must be named NAMESPACE/NAME, not '${ref}'`);
    if (!state.namespaces[namespace])
      throw new LabError(
        `namespace ${namespace} does not exist: create it with \`calico-lab namespace create ${namespace}\``,
      );
    if (state.pods[ref]) throw new LabError(`pod ${ref} already exists`);
    const count = Object.keys(state.pods).length;
    const node = opts.node ?? state.nodes[count % state.nodes.length]?.name;
    if (!node || !state.nodes.some((n) => n.name === node)) throw new LabError(`no node ${opts.node}`);
    const netns = `${state.prefix}-p-${createHash("sha256").update(ref).digest("hex").slice(0, 10)}`;
    const annotations = await podAnnotations(opts, (pool) =>
      this.withClient(async (_c, store) => {
        try {
          return String((await store.get({ kind: "IPPool", name: pool })).spec?.cidr ?? "");
        } catch {
          return undefined;
        }
      }),
    );
    const pod: LabPod = {
      namespace,
      name,
      node,
      netns,
      containerId: randomBytes(32).toString("hex"),
      ip: "",
      serve: opts.serve,
      labels: opts.labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    };
    await runOk("ip", ["netns", "add", netns]);
    state.pods[ref] = pod;
    saveState(this.paths, state);
    await runOk("ip", ["-n", netns, "link", "set", "lo", "up"]);
    progress(`adding ${ref} on ${node} through the calico CNI plugin`);
    const out = await this.cni(state, pod, "ADD");
    if (out.code !== 0) {
      await run("ip", ["netns", "del", netns]);
      delete state.pods[ref];
      saveState(this.paths, state);
      throw new LabError(`CNI ADD for ${ref} failed: ${out.stdout.trim() || out.stderr.trim()}`);
    }
    const result = JSON.parse(out.stdout) as { ips?: Array<{ address: string }> };
    pod.ips = (result.ips ?? []).map((i) => i.address.split("/")[0] ?? "");
    pod.ip = pod.ips[0] ?? "";
    await this.syncEndpoint(pod);
    if (pod.serve.length > 0) {
      pod.serverPid = detached(
        [
          "nsenter",
          `--net=${nsPath(netns)}`,
          process.execPath,
          DIST("pod-server.js"),
          ...pod.serve.map((s) => `${s.protocol}:${s.port}`),
        ],
        { PATH: process.env.PATH },
        join(this.paths.dir, "pods", `${namespace}-${name}.log`),
      );
    }
    saveState(this.paths, state);
    return pod;
  }

  /** Gives the endpoint the pod's labels and named ports, as Calico's Kubernetes conversion does. */
  private async syncEndpoint(pod: LabPod): Promise<void> {
    await this.withClient(async (client, store) => {
      const weps = (await store.list("WorkloadEndpoint", { namespace: pod.namespace })).items;
      const wep = weps.find((w) => {
        const s = w.spec as Record<string, unknown>;
        return s.pod === pod.name && s.node === pod.node;
      });
      if (!wep) throw new LabError(`no WorkloadEndpoint for ${pod.namespace}/${pod.name}`);
      const ports = pod.serve
        .filter((s) => s.name)
        .map((s) => ({ name: s.name, protocol: s.protocol.toUpperCase(), port: s.port }));
      const spec = { ...(wep.spec as Record<string, unknown>) };
      if (ports.length > 0) spec.ports = ports;
      else delete spec.ports;
      const labels = {
        ...pod.labels,
        "projectcalico.org/namespace": pod.namespace,
        "projectcalico.org/orchestrator": "k8s",
      };
      await client.update({ ...wep, metadata: { ...wep.metadata, labels }, spec } as Resource);
    });
  }

  async podLabel(ref: string, changes: Record<string, string | null>): Promise<void> {
    const state = this.state();
    const pod = this.pod(state, ref);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete pod.labels[k];
      else pod.labels[k] = v;
    }
    await this.syncEndpoint(pod);
    saveState(this.paths, state);
  }

  async podDelete(ref: string): Promise<void> {
    const state = this.state();
    const pod = this.pod(state, ref);
    await killAndWait(pod.serverPid, 1_000);
    const out = await this.cni(state, pod, "DEL");
    if (out.code !== 0)
      throw new LabError(`CNI DEL for ${ref} failed: ${out.stdout.trim() || out.stderr.trim()}`);
    await run("ip", ["netns", "del", pod.netns]);
    delete state.pods[ref];
    saveState(this.paths, state);
  }

  /** `open`, `closed` or `timeout`, probing from inside FROM's namespace (a pod or a node). */
  async probe(
    from: string,
    to: string,
    port: number,
    protocol: string,
    timeoutMs = 1_000,
    family?: Family,
  ): Promise<string> {
    if (protocol === "sctp")
      throw new LabError("this kernel has no SCTP sockets, so SCTP cannot be probed here");
    if (protocol !== "tcp" && protocol !== "udp")
      throw new LabError(`--protocol must be tcp, udp or sctp, not '${protocol}'`);
    const state = this.state();
    // A node name stands for the node itself (its namespace and fabric address).
    const end = (ref: string) => state.nodes.find((n) => n.name === ref) ?? this.pod(state, ref);
    const a = end(from);
    const b = end(to);
    const out = await inNs(a.netns, [
      process.execPath,
      DIST("pod-probe.js"),
      protocol,
      addressFor(b, to, family),
      String(port),
      String(timeoutMs),
    ]);
    if (out.code !== 0) throw new LabError(`probe failed: ${out.stderr.trim()}`);
    return out.stdout.trim();
  }

  /**
   * Every ordered pair of pods, over `family` (each target's first address when not given).
   * With a family, a pod without an address of it is left out of the matrix.
   */
  async matrix(
    port: number,
    protocol: string,
    family?: Family,
  ): Promise<Array<{ from: string; to: string; family: Family; result: string }>> {
    const all = this.state().pods;
    const pods = Object.keys(all)
      .sort()
      .filter(
        (p) =>
          family === undefined || (all[p]?.ips ?? [all[p]?.ip ?? ""]).some((a) => familyOf(a) === family),
      );
    const pairs = pods.flatMap((from) => pods.filter((to) => to !== from).map((to) => ({ from, to })));
    const out: Array<{ from: string; to: string; family: Family; result: string }> = [];
    for (let i = 0; i < pairs.length; i += 8)
      out.push(
        ...(await Promise.all(
          pairs.slice(i, i + 8).map(async (p) => ({
            ...p,
            family: familyOf(addressFor(all[p.to] as LabPod, p.to, family)),
            result: await this.probe(p.from, p.to, port, protocol, 1_000, family),
          })),
        )),
      );
    return out;
  }

  async status(): Promise<string> {
    const state = this.state();
    const address = (n: LabNode) => (n.ip6 ? `${n.ip}, ${n.ip6}` : n.ip);
    const w = Math.max(13, ...state.nodes.map((n) => address(n).length));
    const lines = [
      `etcd: ${this.etcdUrl(state)} (pid ${state.etcd?.pid}, ${alive(state.etcd?.pid) ? "running" : "NOT RUNNING"})`,
      `network: ${describeNetwork(state.network ?? DEFAULT_NETWORK)}`,
    ];
    for (const t of state.typhas ?? [])
      lines.push(`${t.name}: ${t.ip}:5473 (pid ${t.pid}, ${alive(t.pid) ? "running" : "NOT RUNNING"})`);
    const withTypha = (state.typhas ?? []).length > 0;
    lines.push(
      "",
      `NODE     ${"ADDRESS".padEnd(w)} SUBNET           TUNNEL         MTU    ${withTypha ? "TYPHA           " : ""}STATUS`,
    );
    const tunnels = await this.tunnelAddresses().catch(() => new Map<string, string>());
    for (const n of state.nodes) {
      const failures = alive(n.pid) ? await this.nodeReady(state, n.name) : ["calico-node is not running"];
      const subnet = `${n.ip.split(".").slice(0, 3).join(".")}.0/24`;
      const mtu = readText(join(this.paths.dir, n.name, "mtu")) ?? "-";
      const typha = withTypha ? `${((await typhasInUse(state, n.netns)).join(",") || "-").padEnd(15)} ` : "";
      lines.push(
        `${n.name.padEnd(8)} ${address(n).padEnd(w)} ${subnet.padEnd(16)} ${(tunnels.get(n.name) ?? "-").padEnd(14)} ${mtu.padEnd(6)} ${typha}${failures.length === 0 ? "ready" : failures.join("; ")}`,
      );
    }
    lines.push("", "POD                      NODE     IP");
    for (const [ref, p] of Object.entries(state.pods).sort())
      lines.push(`${ref.padEnd(24)} ${p.node.padEnd(8)} ${(p.ips ?? [p.ip]).join(", ")}`);
    return `${lines.join("\n")}\n`;
  }

  /** Each node's VXLAN or IPIP tunnel address, from its Node resource. */
  private async tunnelAddresses(): Promise<Map<string, string>> {
    return this.withClient(async (_c, store) => {
      const out = new Map<string, string>();
      for (const node of (await store.list("Node")).items) {
        const spec = (node.spec ?? {}) as {
          ipv4VXLANTunnelAddr?: string;
          bgp?: { ipv4IPIPTunnelAddr?: string };
        };
        const addr = spec.ipv4VXLANTunnelAddr ?? spec.bgp?.ipv4IPIPTunnelAddr;
        if (addr && node.metadata?.name) out.set(node.metadata.name, addr);
      }
      return out;
    });
  }

  env(): string {
    const state = this.state();
    return `export DATASTORE_TYPE=etcdv3\nexport ETCD_ENDPOINTS=${this.etcdUrl(state)}\n`;
  }

  nodeNames(): string[] {
    return this.state().nodes.map((n) => n.name);
  }

  nodeRecord(name: string): LabNode {
    const node = this.state().nodes.find((n) => n.name === name);
    if (!node) throw new LabError(`no node ${name}`);
    return node;
  }

  podRecord(ref: string): LabPod {
    return this.pod(this.state(), ref);
  }
}
