/**
 * A multi-node Calico cluster on one host: node namespaces on a bridged fabric, each running
 * calico-node (Felix + BIRD), a private etcd, and pods wired by the calico CNI plugin exactly as a
 * runtime calls it. Everything it makes is named with its prefix and recorded in its state file;
 * the host's own networking is never touched.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Resource } from "../api/index.js";
import { BirdClient } from "../bgp/index.js";
import { CalicoClient } from "../client/index.js";
import { CalicoResourceStore, EtcdKV } from "../datastore/index.js";
import { type ExecResult, run, runOk } from "../lib/exec.js";
import { attachHost, createBridge } from "./fabric.js";
import { type LabPaths, type LabPod, type LabState, labPaths, loadState, saveState } from "./state.js";
import { MAX_TYPHAS, startTyphas, typhaNodeEnv, typhasInUse } from "./typha.js";

const API = "projectcalico.org/v3";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = (name: string) => join(ROOT, "bin", name);
const DIST = (file: string) => join(ROOT, "dist", "lab", file);
export const POD_CIDR = "10.244.0.0/16";

export class LabError extends Error {}

type Progress = (msg: string) => void;

const nsPath = (ns: string) => `/run/netns/${ns}`;
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

function detached(argv: string[], env: NodeJS.ProcessEnv, logFile: string, cwd?: string): number {
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

  nodeEnv(name: string): NodeJS.ProcessEnv {
    const d = join(this.paths.dir, name);
    return {
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
    };
  }

  async up(nodes: number, progress: Progress, opts: { typha?: number } = {}): Promise<void> {
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 50)
      throw new LabError(`--nodes must be between 1 and 50, not ${nodes}`);
    const typhas = opts.typha ?? 0;
    if (!Number.isInteger(typhas) || typhas < 0 || typhas > MAX_TYPHAS)
      throw new LabError(`--typha must be between 0 and ${MAX_TYPHAS}, not ${typhas}`);
    if (loadState(this.paths)?.etcd)
      throw new LabError(`a lab is already running in ${this.paths.dir}: run \`calico-lab down\` first`);
    const { prefix } = this.paths;
    const state: LabState = { prefix, nodes: [], namespaces: {}, pods: {} };
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
    // The fabric's "router" is a dead end, but nodes need a default route for proxy ARP to
    // answer pods' ARP for 169.254.1.1 (the kernel only proxies for addresses routed elsewhere).
    await createBridge(fabric, "172.30.0.254/24");
    for (let i = 1; i <= nodes; i++) {
      const name = `node${i}`;
      const netns = `${prefix}-${name}`;
      await runOk("ip", ["netns", "add", netns]);
      const ip = `172.30.0.${i}`;
      state.nodes.push({ name, netns, ip });
      saveState(this.paths, state);
      await attachHost(fabric, `n${i}`, { netns, address: `${ip}/24` });
      await runOk("ip", ["-n", netns, "route", "add", "default", "via", "172.30.0.254", "dev", "eth0"]);
    }
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

  async startNode(state: LabState, name: string): Promise<void> {
    const node = state.nodes.find((n) => n.name === name);
    if (!node) throw new LabError(`no node ${name}`);
    await killAndWait(node.pid);
    node.pid = detached(
      ["nsenter", `--net=${nsPath(node.netns)}`, process.execPath, BIN("calico-node")],
      { ...this.nodeEnv(name), ...typhaNodeEnv(state, name) },
      join(this.paths.dir, name, "calico-node.log"),
    );
    saveState(this.paths, state);
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
    const env = this.nodeEnv(name);
    const argv = [
      `--net=${nsPath(node.netns)}`,
      process.execPath,
      BIN("calico-node"),
      "-felix-ready",
      "-bird-ready",
    ];
    const out = await run("nsenter", argv, { env });
    if (out.code !== 0)
      return out.stderr
        .trim()
        .split("\n")
        .filter((l) => l);
    if (state.nodes.length > 1 && (await this.bgpEstablished(name)) === 0)
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
      mtu: 1500,
      ipam: { type: "calico-ipam" },
      policy: { type: "k8s" },
      log_level: "warning",
      log_file_path: join(this.paths.dir, "cni.log"),
    };
  }

  async down(progress: Progress): Promise<void> {
    const state = loadState(this.paths);
    const prefix = state?.prefix ?? this.paths.prefix;
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

  async namespaceCreate(name: string, labels: Record<string, string>): Promise<void> {
    const state = this.state();
    if (state.namespaces[name]) throw new LabError(`namespace ${name} already exists`);
    await this.withClient((client) => client.create(this.namespaceProfile(name, labels)));
    state.namespaces[name] = labels;
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
    const conf = {
      ...this.netconf(),
      nodename: pod.node,
      nodename_file: join(this.paths.dir, pod.node, "nodename"),
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
    opts: { node?: string; labels: Record<string, string>; serve: LabPod["serve"] },
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
    const pod: LabPod = {
      namespace,
      name,
      node,
      netns,
      containerId: randomBytes(32).toString("hex"),
      ip: "",
      serve: opts.serve,
      labels: opts.labels,
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
    pod.ip = result.ips?.[0]?.address.split("/")[0] ?? "";
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

  /** `open`, `closed` or `timeout`, probing from inside FROM's namespace. */
  async probe(from: string, to: string, port: number, protocol: string, timeoutMs = 1_000): Promise<string> {
    if (protocol === "sctp")
      throw new LabError("this kernel has no SCTP sockets, so SCTP cannot be probed here");
    if (protocol !== "tcp" && protocol !== "udp")
      throw new LabError(`--protocol must be tcp, udp or sctp, not '${protocol}'`);
    const state = this.state();
    const a = this.pod(state, from);
    const b = this.pod(state, to);
    const out = await inNs(a.netns, [
      process.execPath,
      DIST("pod-probe.js"),
      protocol,
      b.ip,
      String(port),
      String(timeoutMs),
    ]);
    if (out.code !== 0) throw new LabError(`probe failed: ${out.stderr.trim()}`);
    return out.stdout.trim();
  }

  async matrix(port: number, protocol: string): Promise<Array<{ from: string; to: string; result: string }>> {
    const pods = Object.keys(this.state().pods).sort();
    const pairs = pods.flatMap((from) => pods.filter((to) => to !== from).map((to) => ({ from, to })));
    const out: Array<{ from: string; to: string; result: string }> = [];
    for (let i = 0; i < pairs.length; i += 8)
      out.push(
        ...(await Promise.all(
          pairs
            .slice(i, i + 8)
            .map(async (p) => ({ ...p, result: await this.probe(p.from, p.to, port, protocol) })),
        )),
      );
    return out;
  }

  async status(): Promise<string> {
    const state = this.state();
    const lines = [
      `etcd: ${this.etcdUrl(state)} (pid ${state.etcd?.pid}, ${alive(state.etcd?.pid) ? "running" : "NOT RUNNING"})`,
    ];
    for (const t of state.typhas ?? [])
      lines.push(`${t.name}: ${t.ip}:5473 (pid ${t.pid}, ${alive(t.pid) ? "running" : "NOT RUNNING"})`);
    const withTypha = (state.typhas ?? []).length > 0;
    lines.push("", `NODE     ADDRESS       ${withTypha ? "TYPHA           " : ""}STATUS`);
    for (const n of state.nodes) {
      const failures = alive(n.pid) ? await this.nodeReady(state, n.name) : ["calico-node is not running"];
      const typha = withTypha ? `${((await typhasInUse(state, n.netns)).join(",") || "-").padEnd(15)} ` : "";
      lines.push(
        `${n.name.padEnd(8)} ${n.ip.padEnd(13)} ${typha}${failures.length === 0 ? "ready" : failures.join("; ")}`,
      );
    }
    lines.push("", "POD                      NODE     IP");
    for (const [ref, p] of Object.entries(state.pods).sort())
      lines.push(`${ref.padEnd(24)} ${p.node.padEnd(8)} ${p.ip}`);
    return `${lines.join("\n")}\n`;
  }

  env(): string {
    const state = this.state();
    return `export DATASTORE_TYPE=etcdv3\nexport ETCD_ENDPOINTS=${this.etcdUrl(state)}\n`;
  }

  nodeNames(): string[] {
    return this.state().nodes.map((n) => n.name);
  }

  podRecord(ref: string): LabPod {
    return this.pod(this.state(), ref);
  }
}
