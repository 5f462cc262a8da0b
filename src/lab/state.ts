/** The lab's record of everything it made, so `down` can remove exactly that, even after a crash. */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LabNetwork } from "./network.js";

export interface LabNode {
  name: string;
  netns: string;
  ip: string;
  /** 1-based subnet of an L3 fabric. */
  subnet?: number;
  /** Its IPv6 address on the fabric, in a dual-stack lab. */
  ip6?: string;
  pid?: number;
}

export interface LabPod {
  namespace: string;
  name: string;
  node: string;
  netns: string;
  containerId: string;
  ip: string;
  /** Every address, in the order CNI returned them (absent in state files from before dual stack). */
  ips?: string[];
  /** Kubernetes annotations passed to the CNI plugin (pinned addresses, pools). */
  annotations?: Record<string, string>;
  serverPid?: number;
  serve: Array<{ protocol: "tcp" | "udp"; port: number; name?: string }>;
  labels: Record<string, string>;
}

export interface LabState {
  prefix: string;
  /** `calico-lab up --typha N` (see typha.ts). */
  typhas?: Array<{ name: string; netns: string; ip: string; pid?: number }>;
  etcd?: { pid: number; port: number };
  /** `up --etcd N` (N > 1): the cluster's members; `etcd` then names the first (see etcd-cluster.ts). */
  etcdMembers?: Array<{ name: string; ip: string; port: number; peerPort: number; pid: number }>;
  fabric?: string;
  /** Fabric layout and encapsulation; absent in labs made before it existed (L2, none). */
  network?: LabNetwork;
  nodes: LabNode[];
  /** Highest node number handed out so far (`node add` never reuses one). */
  lastNodeIndex?: number;
  namespaces: Record<string, Record<string, string>>;
  /** `up --route-reflectors N`: the nodes that reflect routes (the mesh is off). */
  routeReflectors?: string[];
  /** `up --ipv6`: nodes, pools and pods get IPv6 too. */
  ipv6?: boolean;
  /** `up --flow-logs`: every node's Felix writes flow logs (see flows.ts). */
  flowLogs?: boolean;
  namespaceAnnotations?: Record<string, Record<string, string>>;
  pods: Record<string, LabPod>;
}

export interface LabPaths {
  dir: string;
  prefix: string;
  stateFile: string;
  etcdData: string;
  /** etcd's unix socket (`host:port` form, as etcd names it), reachable from every namespace. */
  etcdSocket: string;
  netconf: string;
}

export function labPaths(env: Readonly<Record<string, string | undefined>> = process.env): LabPaths {
  const dir = env.CALICO_LAB_DIR || "/var/lib/calico-lab";
  return {
    dir,
    prefix: env.CALICO_LAB_PREFIX || "calab",
    stateFile: join(dir, "state.json"),
    etcdData: join(dir, "etcd"),
    etcdSocket: join(dir, "etcd.sock:0"),
    netconf: join(dir, "10-calico.conf"),
  };
}

export function loadState(paths: LabPaths): LabState | undefined {
  if (!existsSync(paths.stateFile)) return undefined;
  return JSON.parse(readFileSync(paths.stateFile, "utf8")) as LabState;
}

export function saveState(paths: LabPaths, state: LabState): void {
  mkdirSync(paths.dir, { recursive: true });
  const tmp = `${paths.stateFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, paths.stateFile);
}
