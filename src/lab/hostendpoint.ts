/**
 * Host protection in the lab: HostEndpoint resources for lab nodes, nodes as probe sources and
 * targets (with small servers in a node's namespace to probe), and `calicoctl node status` run
 * inside a node, where its BIRD lives.
 */
import { join } from "node:path";
import type { Resource } from "../api/index.js";
import { CalicoClient } from "../client/index.js";
import { CalicoResourceStore, EtcdKV } from "../datastore/index.js";
import { type ExecResult, run } from "../lib/exec.js";
import { labEtcdEndpoints } from "./datastore.js";
import { BIN, DIST, detached, LabError, nsPath } from "./processes.js";
import { type LabNode, type LabPaths, type LabPod, type LabState, loadState } from "./state.js";

function labState(paths: LabPaths): LabState {
  const s = loadState(paths);
  if (!s?.etcd) throw new LabError("no lab is running: start one with `calico-lab up`");
  return s;
}

function node(state: LabState, name: string): LabNode {
  const n = state.nodes.find((x) => x.name === name);
  if (!n) throw new LabError(`no node ${name} (nodes: ${state.nodes.map((x) => x.name).join(", ")})`);
  return n;
}

/**
 * The HostEndpoint `calico-lab hostendpoint create` writes: `<node>-<iface>` (`<node>-all` for
 * `*`), on that node, with the node's address as its expected IP and the given labels. With no
 * policy selecting it, it denies everything but the failsafe ports.
 */
export function hostEndpointResource(n: LabNode, iface: string, labels: Record<string, string>): Resource {
  if (iface !== "*" && !/^[a-zA-Z0-9_.-]{1,15}$/.test(iface))
    throw new LabError(`--interface must be an interface name or *, not '${iface}'`);
  return {
    apiVersion: "projectcalico.org/v3",
    kind: "HostEndpoint",
    metadata: { name: `${n.name}-${iface === "*" ? "all" : iface}`, labels },
    spec: { node: n.name, interfaceName: iface, expectedIPs: [n.ip] },
  } as unknown as Resource;
}

export async function hostEndpointCreate(
  paths: LabPaths,
  nodeName: string,
  iface: string,
  labels: Record<string, string>,
): Promise<string> {
  const resource = hostEndpointResource(node(labState(paths), nodeName), iface, labels);
  const kv = new EtcdKV({ endpoints: labEtcdEndpoints(paths) });
  try {
    await new CalicoClient(new CalicoResourceStore(kv)).create(resource);
  } finally {
    await kv.close();
  }
  return resource.metadata.name as string;
}

/**
 * Starts `pod-server` in a node's own namespace (the host's services, as far as policy is
 * concerned) and waits until it listens. `calico-lab down` stops it with the namespace's processes.
 */
export async function nodeServe(paths: LabPaths, nodeName: string, serve: LabPod["serve"]): Promise<number> {
  const n = node(labState(paths), nodeName);
  if (serve.length === 0) throw new LabError("give at least one --serve entry");
  const pid = detached(
    [
      "nsenter",
      `--net=${nsPath(n.netns)}`,
      process.execPath,
      DIST("pod-server.js"),
      ...serve.map((s) => `${s.protocol}:${s.port}`),
    ],
    { PATH: process.env.PATH },
    join(paths.dir, nodeName, `serve-${process.hrtime.bigint()}.log`),
  );
  const end = Date.now() + 10_000;
  for (const s of serve) {
    const flag = s.protocol === "tcp" ? "-Hltn" : "-Hlun";
    for (;;) {
      const out = await run("ip", ["netns", "exec", n.netns, "ss", flag, `sport = :${s.port}`]);
      if (out.stdout.trim() !== "") break;
      if (Date.now() > end) throw new LabError(`server on ${nodeName} ${s.protocol}/${s.port} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return pid;
}

/** `calicoctl node status` inside the node's namespace, pointed at the node's BIRD. */
export async function nodeStatus(paths: LabPaths, nodeName: string): Promise<ExecResult> {
  const n = node(labState(paths), nodeName);
  return run("nsenter", [`--net=${nsPath(n.netns)}`, process.execPath, BIN("calicoctl"), "node", "status"], {
    env: { ...process.env, CALICO_RUN_DIR: join(paths.dir, nodeName, "run") },
  });
}
