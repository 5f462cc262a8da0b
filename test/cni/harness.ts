/**
 * Runs the built plugins the way a runtime does (CNI_* environment, config on stdin, result on
 * stdout) from inside a "host" network namespace the test owns, against a real etcd seeded with
 * what calico/node would have written: ClusterInformation, the Node and IP pools.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { applyDefaults, type Resource } from "../../src/api/index.js";
import { storeFor } from "../../src/cni/backend.js";
import type { ResourceStore } from "../../src/datastore/index.js";
import { IPAMClient } from "../../src/ipam/index.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { createNetns, exec, forwardIntoNetns, type Netns } from "../support/netns.js";

export const REPO = resolve(import.meta.dirname, "../..");
export const DEBIAN_CNI_DIR = "/usr/lib/cni";

export interface Cluster {
  etcd: EtcdServer;
  store: ResourceStore;
  ipam: IPAMClient;
  node: string;
  /** Temp dir holding the bin dir, nodename file, lock file, host-local state. */
  dir: string;
  binDir: string;
  nodenameFile: string;
  lockFile: string;
  host: Netns;
  /** etcd's URL as the plugins see it from inside the host namespace. */
  etcdUrl: string;
  stop(): Promise<void>;
}

export async function createResource(store: ResourceStore, r: Resource): Promise<Resource> {
  return store.create(applyDefaults(r));
}

export function pool(name: string, cidr: string, extra: Record<string, unknown> = {}): Resource {
  return {
    apiVersion: "projectcalico.org/v3",
    kind: "IPPool",
    metadata: { name },
    spec: { cidr, ipipMode: "Never", vxlanMode: "Never", natOutgoing: false, ...extra },
  };
}

export async function setClusterReady(store: ResourceStore, ready: boolean): Promise<void> {
  const key = { kind: "ClusterInformation", name: "default" };
  const current = await store.get(key);
  await store.update({ ...current, spec: { ...(current.spec ?? {}), datastoreReady: ready } });
}

/** A CNI bin dir with our plugins and Debian's reference plugins, as a runtime would have. */
async function makeBinDir(dir: string): Promise<string> {
  const bin = join(dir, "bin");
  await mkdir(bin);
  await symlink(join(REPO, "bin/calico"), join(bin, "calico"));
  await symlink(join(REPO, "bin/calico-ipam"), join(bin, "calico-ipam"));
  for (const p of ["host-local", "portmap", "bandwidth", "loopback"]) {
    await symlink(join(DEBIAN_CNI_DIR, p), join(bin, p));
  }
  return bin;
}

export async function startCluster(opts: { pools?: Resource[]; prefix?: string } = {}): Promise<Cluster> {
  const node = "cts-node-1";
  const dir = await mkdtemp(join(tmpdir(), "cts-cni-"));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const etcd = await startEtcd();
    cleanups.push(() => etcd.stop());
    const store = await storeFor({ endpoints: [etcd.endpoint] });
    cleanups.push(() => store.close());
    await createResource(store, {
      apiVersion: "projectcalico.org/v3",
      kind: "ClusterInformation",
      metadata: { name: "default" },
      spec: { datastoreReady: true, clusterType: "cni" },
    });
    await createResource(store, {
      apiVersion: "projectcalico.org/v3",
      kind: "Node",
      metadata: { name: node },
      spec: {},
    });
    for (const p of opts.pools ?? [pool("pool-v4", "10.77.0.0/16")]) await createResource(store, p);
    const host = await createNetns(opts.prefix ?? "cts-cni-host");
    cleanups.push(() => host.remove());
    const etcdUrl = new URL(etcd.endpoint);
    const forward = await forwardIntoNetns(host, { host: etcdUrl.hostname, port: Number(etcdUrl.port) });
    cleanups.push(() => forward.close());
    const nodenameFile = join(dir, "nodename");
    await writeFile(nodenameFile, node);
    return {
      etcd,
      store,
      ipam: IPAMClient.fromResourceStore(store),
      node,
      dir,
      binDir: await makeBinDir(dir),
      nodenameFile,
      lockFile: join(dir, "run/ipam.lock"),
      host,
      etcdUrl: forward.url,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export function netConf(c: Cluster, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "net1",
    type: "calico",
    etcd_endpoints: c.etcdUrl,
    nodename_file: c.nodenameFile,
    ipam_lock_file: c.lockFile,
    log_level: "debug",
    ipam: { type: "calico-ipam" },
    ...extra,
  };
}

export interface Invocation {
  command: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  conf: unknown;
  /** Extra or overriding environment. */
  env?: Record<string, string | undefined>;
  /** Command-line flags (e.g. `-t`). */
  argv?: string[];
}

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json: Record<string, unknown> | undefined;
}

/** Runs `plugin` from the CNI bin dir inside the host namespace with only the CNI variables set. */
export async function invoke(c: Cluster, plugin: string, inv: Invocation): Promise<PluginRun> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined) env[k] = v;
  };
  set("CNI_COMMAND", inv.command);
  set("CNI_CONTAINERID", inv.containerId);
  set("CNI_NETNS", inv.netns);
  set("CNI_IFNAME", inv.ifname ?? "eth0");
  set("CNI_ARGS", inv.args);
  set("CNI_PATH", c.binDir);
  for (const [k, v] of Object.entries(inv.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const stdin = typeof inv.conf === "string" ? inv.conf : JSON.stringify(inv.conf);
  const out = await exec("nsenter", [`--net=${c.host.path}`, join(c.binDir, plugin), ...(inv.argv ?? [])], {
    input: stdin,
    env,
  });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(out.stdout) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { ...out, json };
}

/** Fails with the plugin's own output, which is what one needs to see when it breaks. */
export function expectOk(run: PluginRun): Record<string, unknown> {
  if (run.code !== 0) throw new Error(`plugin failed (${run.code}): ${run.stdout}\n${run.stderr}`);
  return run.json ?? {};
}

export async function ipsOfHandle(c: Cluster, handle: string): Promise<string[]> {
  try {
    return await c.ipam.ipsByHandle(handle);
  } catch {
    return [];
  }
}

export async function getWep(c: Cluster, name: string, namespace = "default"): Promise<Resource | undefined> {
  try {
    return await c.store.get({ kind: "WorkloadEndpoint", namespace, name });
  } catch {
    return undefined;
  }
}

export async function newContainer(prefix = "cts-cni-ctr"): Promise<Netns> {
  return createNetns(prefix);
}

export interface Agent {
  child: ChildProcess;
  socket: string;
}

/** Starts an agent thread in the cluster's host namespace, as calico-node does there. */
export async function startAgent(c: Cluster): Promise<Agent> {
  const code = `const m = await import(${JSON.stringify(join(REPO, "dist/cni/agent-thread.js"))});
const a = await m.startCniAgentThread({ log: { info: (s) => console.log(s), warn: (s) => console.error(s) } });
console.log("SOCKET " + a.socketPath);
process.on("SIGTERM", async () => { await a.stop(); process.exit(0); });`;
  // A file, not -e: the agent thread inherits the process's Node options, and --input-type
  // is refused anywhere but -e.
  const script = join(c.dir, "cni-agent.mjs");
  await writeFile(script, code);
  const child = spawn("nsenter", [`--net=${c.host.path}`, process.execPath, script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const socket = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /SOCKET (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`agent exited (${code}) before listening: ${out}`)));
  });
  return { child, socket };
}

export { exec };
