/**
 * Lab nodes: a namespace on the fabric running calico-node (Felix, confd and BIRD), its
 * environment, its start, crash and readiness, and what leaving for good removes.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { BirdClient } from "../bgp/index.js";
import { IPAMClient } from "../ipam/index.js";
import { run, runOk } from "../lib/exec.js";
import { TUNNEL_TYPES, tunnelHandle } from "../node/index.js";
import { labEtcdEndpoints, withClient } from "./datastore.js";
import { addNodeIPv6, ipv6NodeEnv } from "./dualstack.js";
import { attachHost } from "./fabric.js";
import { flowLogEnv } from "./flows.js";
import { DEFAULT_NETWORK, encapEnv, type LabNetwork, nodeAddress, usesBgp } from "./network.js";
import { BIN, detached, killAndWait, LabError, nsPath, type Progress, sleep } from "./processes.js";
import { type LabNode, type LabPaths, type LabState, loadState, saveState } from "./state.js";
import { typhaNodeEnv } from "./typha.js";

export const POD_CIDR = "10.244.0.0/16";

/**
 * V8 options for the lab's calico-nodes only. A node idles most of the time, yet V8 grows the
 * young generation to 16 MB semi-spaces under start-up's allocation burst and keeps it: ~13 MB
 * of committed heap per node doing nothing, which adds up over 50 nodes. A 1 MB semi-space costs
 * no measurable start-up CPU here (1.4 s either way).
 */
const NODE_V8_OPTIONS = "--max-semi-space-size=1";
export const MAX_NODES = 50;

export function findNode(state: LabState, name: string): LabNode {
  const node = state.nodes.find((n) => n.name === name);
  if (!node) throw new LabError(`no node ${name}`);
  return node;
}

export function nodeEnv(
  paths: LabPaths,
  name: string,
  net: LabNetwork = DEFAULT_NETWORK,
  ipv6 = loadState(paths)?.ipv6 === true,
): NodeJS.ProcessEnv {
  const d = join(paths.dir, name);
  return {
    ...encapEnv(net),
    ...ipv6NodeEnv(ipv6),
    PATH: process.env.PATH,
    NODE_OPTIONS: NODE_V8_OPTIONS,
    NODENAME: name,
    DATASTORE_TYPE: "etcdv3",
    ETCD_ENDPOINTS: labEtcdEndpoints(paths).join(","),
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
    ...flowLogEnv(paths, name, loadState(paths)?.flowLogs === true),
  };
}

/** The namespace of node `i`, plugged into its subnet's bridge with its default route. */
export async function addNodeNamespace(
  paths: LabPaths,
  state: LabState,
  i: number,
  subnet?: number,
): Promise<LabNode> {
  const net = state.network ?? DEFAULT_NETWORK;
  const name = `node${i}`;
  const netns = `${state.prefix}-${name}`;
  const addr = nodeAddress(net, i, subnet);
  await runOk("ip", ["netns", "add", netns]);
  const node: LabNode = { name, netns, ip: addr.ip, ...(net.fabric === "l3" ? { subnet: addr.subnet } : {}) };
  state.nodes.push(node);
  saveState(paths, state);
  await attachHost(
    state.fabric as string,
    `n${i}`,
    { netns, address: `${addr.ip}/${addr.prefixLength}` },
    { bridge: addr.bridge, ...(net.mtu ? { mtu: net.mtu } : {}) },
  );
  await runOk("ip", ["-n", netns, "route", "add", "default", "via", addr.gateway, "dev", "eth0"]);
  if (state.ipv6) node.ip6 = await addNodeIPv6(netns, i);
  return node;
}

/** `--encap ipip` needs the kernel's ipip module; find out before making anything. */
export async function checkIpip(prefix: string): Promise<void> {
  const probe = `${prefix}-ipipcheck`;
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

export async function startNode(paths: LabPaths, state: LabState, name: string): Promise<void> {
  const node = findNode(state, name);
  await killAndWait(node.pid);
  node.pid = detached(
    ["nsenter", `--net=${nsPath(node.netns)}`, process.execPath, BIN("calico-node")],
    { ...nodeEnv(paths, name, state.network), ...typhaNodeEnv(state, name) },
    join(paths.dir, name, "calico-node.log"),
  );
  saveState(paths, state);
}

/** What the datastore holds for a departed node: tunnel addresses, block affinities, the Node. */
export async function forgetNode(paths: LabPaths, name: string): Promise<void> {
  await withClient(paths, async (_client, store) => {
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
  rmSync(join(paths.dir, name), { recursive: true, force: true });
}

/** Established BGP sessions of a node's BIRD. */
export async function bgpEstablished(paths: LabPaths, name: string): Promise<number> {
  const client = new BirdClient(join(paths.dir, name, "run", "bird.ctl"));
  try {
    return (await client.showProtocols()).filter((p) => p.proto === "BGP" && p.info.startsWith("Established"))
      .length;
  } catch {
    return 0;
  }
}

/** BGP sessions of a node's BIRD that are not Established (all of them when BIRD does not answer). */
export async function bgpNotEstablished(paths: LabPaths, name: string): Promise<string[]> {
  const client = new BirdClient(join(paths.dir, name, "run", "bird.ctl"));
  try {
    return (await client.showProtocols())
      .filter((p) => p.proto === "BGP" && !p.info.startsWith("Established"))
      .map((p) => p.name);
  } catch (err) {
    return [`BIRD: ${(err as Error).message}`];
  }
}

/**
 * Every session of every node Established: after a lab started in batches, the early nodes'
 * sessions to the later ones. Asks BIRD only (Felix was ready when its batch was).
 */
export async function waitSessions(paths: LabPaths, state: LabState, progress: Progress): Promise<void> {
  const names = state.nodes.map((n) => n.name);
  const end = Date.now() + readyTimeoutMs(names.length);
  for (;;) {
    const down = (await Promise.all(names.map(async (n) => [n, await bgpNotEstablished(paths, n)] as const)))
      .filter(([, d]) => d.length > 0)
      .map(([n, d]) => `${n}: ${d.join(",")}`);
    if (down.length === 0) break;
    if (Date.now() > end) throw new LabError(`BGP sessions not established: ${down.join(" | ")}`);
    await sleep(300);
  }
  progress(`BGP established on all ${names.length} nodes`);
}

/**
 * calico-node's own readiness, and at least one Established session when there are other nodes
 * (right after start a node may not know its peers yet, and then "all sessions up" is vacuous).
 * BIRD is asked first, over its socket: that costs nothing, whereas the readiness probe starts a
 * process, which a big lab on a busy host should not pay for nodes that cannot be ready yet.
 */
export async function nodeReady(paths: LabPaths, state: LabState, name: string): Promise<string[]> {
  const node = state.nodes.find((n) => n.name === name);
  if (!node) return [`no node ${name}`];
  const env = nodeEnv(paths, name, state.network);
  const bgp = usesBgp(state.network ?? DEFAULT_NETWORK);
  if (bgp && state.nodes.length > 1 && (await bgpEstablished(paths, name)) === 0)
    return ["no BGP session established yet"];
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
  return [];
}

/** Readiness probes in flight at once: each is a process, and a lab can have 50 nodes. */
const PROBES_AT_ONCE = 4;

/** Long enough for a node to start on a loaded host, and more for many nodes starting together. */
export function readyTimeoutMs(nodes: number): number {
  return Math.max(90_000, 12_000 * nodes);
}

export async function waitReady(
  paths: LabPaths,
  state: LabState,
  progress: Progress,
  names = state.nodes.map((n) => n.name),
  timeoutMs = readyTimeoutMs(names.length),
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let pending = names;
  while (pending.length > 0) {
    const results: (readonly [string, string[]])[] = [];
    for (let i = 0; i < pending.length; i += PROBES_AT_ONCE)
      results.push(
        ...(await Promise.all(
          pending
            .slice(i, i + PROBES_AT_ONCE)
            .map(async (n) => [n, await nodeReady(paths, state, n)] as const),
        )),
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
