/**
 * Namespaces and pods as Kubernetes would make them: a namespace is Calico's `kns.<ns>` profile;
 * a pod is a network namespace wired by the calico CNI plugin, called exactly as a runtime calls
 * it, with small servers to probe.
 */
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Resource } from "../api/index.js";
import { type ExecResult, run, runOk } from "../lib/exec.js";
import { labEtcdEndpoints, withClient } from "./datastore.js";
import { addressFor, type Family, familyOf, podAnnotations } from "./dualstack.js";
import { findNode } from "./nodes.js";
import {
  BIN,
  DIST,
  detached,
  inNs,
  killAndWait,
  LabError,
  nsPath,
  type Progress,
  ROOT,
} from "./processes.js";
import { type LabPaths, type LabPod, type LabState, loadState, saveState } from "./state.js";

const API = "projectcalico.org/v3";

export interface PodOptions {
  node?: string;
  labels: Record<string, string>;
  serve: LabPod["serve"];
  annotations?: Record<string, string>;
  ip?: string[];
  pool?: string;
}

/** The CNI network configuration every pod is added with (also written to the lab directory). */
export function labNetconf(paths: LabPaths): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "k8s-pod-network",
    type: "calico",
    datastore_type: "etcdv3",
    etcd_endpoints: labEtcdEndpoints(paths).join(","),
    ipam: { type: "calico-ipam", ...(loadState(paths)?.ipv6 ? { assign_ipv6: "true" } : {}) },
    policy: { type: "k8s" },
    log_level: "warning",
    log_file_path: join(paths.dir, "cni.log"),
  };
}

export function findPod(state: LabState, ref: string): LabPod {
  const pod = state.pods[ref];
  if (!pod) throw new LabError(`no pod ${ref} (pods are named NAMESPACE/NAME)`);
  return pod;
}

/** Calico's picture of a Kubernetes namespace: profile `kns.<ns>` whose labels pods inherit as `pcns.*`. */
function namespaceProfile(name: string, labels: Record<string, string>): Resource {
  const labelsToApply: Record<string, string> = { "pcns.projectcalico.org/name": name };
  for (const [k, v] of Object.entries(labels)) labelsToApply[`pcns.${k}`] = v;
  return {
    apiVersion: API,
    kind: "Profile",
    metadata: { name: `kns.${name}` },
    spec: { ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }], labelsToApply },
  } as unknown as Resource;
}

export async function namespaceCreate(
  paths: LabPaths,
  state: LabState,
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
): Promise<void> {
  if (state.namespaces[name]) throw new LabError(`namespace ${name} already exists`);
  await withClient(paths, (client) => client.create(namespaceProfile(name, labels)));
  state.namespaces[name] = labels;
  if (Object.keys(annotations).length > 0)
    state.namespaceAnnotations = { ...(state.namespaceAnnotations ?? {}), [name]: annotations };
  saveState(paths, state);
}

export async function namespaceLabel(
  paths: LabPaths,
  state: LabState,
  name: string,
  changes: Record<string, string | null>,
): Promise<void> {
  const labels = state.namespaces[name];
  if (!labels) throw new LabError(`namespace ${name} does not exist`);
  applyLabelChanges(labels, changes);
  await withClient(paths, async (client, store) => {
    const current = await store.get({ kind: "Profile", name: `kns.${name}` });
    const next = namespaceProfile(name, labels);
    await client.update({ ...next, metadata: { ...current.metadata } } as Resource);
  });
  saveState(paths, state);
}

function applyLabelChanges(labels: Record<string, string>, changes: Record<string, string | null>): void {
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete labels[k];
    else labels[k] = v;
  }
}

async function callCni(
  paths: LabPaths,
  state: LabState,
  pod: LabPod,
  command: "ADD" | "DEL",
): Promise<ExecResult> {
  const node = findNode(state, pod.node);
  // What Calico's plugin would read from the Kubernetes API, passed as the runtime's args.
  const k8s = {
    podAnnotations: pod.annotations ?? {},
    namespaceAnnotations: state.namespaceAnnotations?.[pod.namespace] ?? {},
  };
  const conf = {
    ...labNetconf(paths),
    nodename: pod.node,
    nodename_file: join(paths.dir, pod.node, "nodename"),
    mtu_file_path: join(paths.dir, pod.node, "mtu"),
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
      // As a runtime would: the node's CNI agent (in its calico-node) serves the call when it runs.
      BIN("calico"),
    ],
    { input: JSON.stringify(conf) },
  );
}

export async function podCreate(
  paths: LabPaths,
  state: LabState,
  ref: string,
  opts: PodOptions,
  progress: Progress,
): Promise<LabPod> {
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
    withClient(paths, async (_c, store) => {
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
  saveState(paths, state);
  await runOk("ip", ["-n", netns, "link", "set", "lo", "up"]);
  progress(`adding ${ref} on ${node} through the calico CNI plugin`);
  const out = await callCni(paths, state, pod, "ADD");
  if (out.code !== 0) {
    // As a kubelet does, DEL after a failed ADD: it releases whatever the ADD got as far as
    // assigning (the plugin may have died after IPAM committed).
    const del = await callCni(paths, state, pod, "DEL");
    await run("ip", ["netns", "del", netns]);
    delete state.pods[ref];
    saveState(paths, state);
    const why = out.stdout.trim() || out.stderr.trim() || `exit code ${out.code}`;
    const cleanup =
      del.code === 0
        ? ""
        : `; the DEL that cleans up after it failed too: ${del.stdout.trim() || del.stderr.trim()}`;
    throw new LabError(`CNI ADD for ${ref} failed: ${why}${cleanup}`);
  }
  const result = JSON.parse(out.stdout) as { ips?: Array<{ address: string }> };
  pod.ips = (result.ips ?? []).map((i) => i.address.split("/")[0] ?? "");
  pod.ip = pod.ips[0] ?? "";
  await syncEndpoint(paths, pod);
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
      join(paths.dir, "pods", `${namespace}-${name}.log`),
    );
  }
  saveState(paths, state);
  return pod;
}

/** Gives the endpoint the pod's labels and named ports, as Calico's Kubernetes conversion does. */
async function syncEndpoint(paths: LabPaths, pod: LabPod): Promise<void> {
  await withClient(paths, async (client, store) => {
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

export async function podLabel(
  paths: LabPaths,
  state: LabState,
  ref: string,
  changes: Record<string, string | null>,
): Promise<void> {
  const pod = findPod(state, ref);
  applyLabelChanges(pod.labels, changes);
  await syncEndpoint(paths, pod);
  saveState(paths, state);
}

export async function podDelete(paths: LabPaths, state: LabState, ref: string): Promise<void> {
  const pod = findPod(state, ref);
  await killAndWait(pod.serverPid, 1_000);
  const out = await callCni(paths, state, pod, "DEL");
  if (out.code !== 0)
    throw new LabError(`CNI DEL for ${ref} failed: ${out.stdout.trim() || out.stderr.trim()}`);
  await run("ip", ["netns", "del", pod.netns]);
  delete state.pods[ref];
  saveState(paths, state);
}

/** `open`, `closed` or `timeout`, probing from inside FROM's namespace (a pod or a node). */
export async function probe(
  state: LabState,
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
  // A node name stands for the node itself (its namespace and fabric address).
  const end = (ref: string) => state.nodes.find((n) => n.name === ref) ?? findPod(state, ref);
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

export interface MatrixCell {
  from: string;
  to: string;
  family: Family;
  result: string;
}

/**
 * Every ordered pair of pods, over `family` (each target's first address when not given).
 * With a family, a pod without an address of it is left out of the matrix.
 */
export async function matrix(
  state: LabState,
  port: number,
  protocol: string,
  family?: Family,
): Promise<MatrixCell[]> {
  const all = state.pods;
  const pods = Object.keys(all)
    .sort()
    .filter(
      (p) => family === undefined || (all[p]?.ips ?? [all[p]?.ip ?? ""]).some((a) => familyOf(a) === family),
    );
  const pairs = pods.flatMap((from) => pods.filter((to) => to !== from).map((to) => ({ from, to })));
  const out: MatrixCell[] = [];
  for (let i = 0; i < pairs.length; i += 8)
    out.push(
      ...(await Promise.all(
        pairs.slice(i, i + 8).map(async (p) => ({
          ...p,
          family: familyOf(addressFor(all[p.to] as LabPod, p.to, family)),
          result: await probe(state, p.from, p.to, port, protocol, 1_000, family),
        })),
      )),
    );
  return out;
}
