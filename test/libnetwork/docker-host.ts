/**
 * One Calico host with Docker, for the Docker tests and benchmark: a real etcd, a node namespace
 * on a bridged fabric (its default route lets proxy ARP answer for 169.254.1.1), calico-node
 * (Felix) in it, and dockerd + calico-libnetwork started by the lab's Docker module.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CalicoClient } from "../../src/client/index.js";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import { type DockerNode, dockerCli, dockerDown, dockerUp } from "../../src/lab/docker.js";
import { attachHost, createBridge } from "../../src/lab/fabric.js";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { createNetns, type Forward, forwardIntoNetns, type Netns } from "../support/netns.js";

const NODE_BIN = join(import.meta.dirname, "../../bin/calico-node");

/** What this machine lacks for the Docker tests (empty when they can run). */
export const dockerMissing = ["/usr/sbin/dockerd", "/usr/bin/docker", "/bin/busybox"].filter(
  (p) => !existsSync(p),
);

export interface DockerHost {
  etcd: EtcdServer;
  store: CalicoResourceStore;
  client: CalicoClient;
  host: Netns;
  docker: DockerNode;
  /** `docker ARGS` against this host's daemon; throws with stderr on failure. */
  d(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startDockerHost(opts: {
  prefix: string;
  node: string;
  pool: string;
  pluginEnv?: Record<string, string>;
}): Promise<DockerHost> {
  const dir = await mkdtemp(join(tmpdir(), `${opts.prefix}-`));
  const etcd = await startEtcd();
  const kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  const store = new CalicoResourceStore(kv);
  const cleanups: Array<() => Promise<unknown>> = [
    () => rm(dir, { recursive: true, force: true }),
    () => etcd.stop(),
    () => kv.close(),
  ];
  let docker: DockerNode | undefined;
  let host: Netns | undefined;
  const stop = async () => {
    if (docker) await dockerDown(docker);
    if (host) {
      const pids = (await run("ip", ["netns", "pids", host.name])).stdout;
      for (const pid of pids.split("\n").filter((x) => x.trim())) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const fabric = await createNetns(`${opts.prefix}f`);
    cleanups.push(() => fabric.remove());
    await createBridge(fabric.name, "172.28.0.254/24");
    host = await createNetns(`${opts.prefix}h`);
    const h = host;
    cleanups.push(() => h.remove());
    await attachHost(fabric.name, "h1", { netns: host.name, address: "172.28.0.1/24" });
    await host.execOk(["ip", "route", "add", "default", "via", "172.28.0.254"]);
    const url = new URL(etcd.endpoint);
    const fwd: Forward = await forwardIntoNetns(host, { host: url.hostname, port: Number(url.port) });
    cleanups.push(() => fwd.close());
    const nodeEnv = {
      PATH: process.env.PATH,
      NODENAME: opts.node,
      ETCD_ENDPOINTS: fwd.url,
      IP: "autodetect",
      IP_AUTODETECTION_METHOD: "interface=eth0",
      CALICO_IPV4POOL_CIDR: opts.pool,
      // The tests add IPv6 pools themselves, after checking Docker is refused without one.
      CALICO_IPV6POOL_CIDR: "none",
      CALICO_NODENAME_FILE: join(dir, "nodename"),
      CALICO_RUN_DIR: join(dir, "run"),
      CALICO_CONFD_DIR: join(dir, "confd"),
      FELIX_HEALTHENABLED: "true",
      FELIX_LOGFILEPATH: "none",
      FELIX_LOGSEVERITYSCREEN: "Warning",
      FELIX_MTUFILEPATH: join(dir, "mtu"),
    };
    spawn("nsenter", [`--net=${host.path}`, process.execPath, NODE_BIN], { env: nodeEnv, stdio: "ignore" });
    await eventually(
      async () => {
        const argv = [`--net=${h.path}`, process.execPath, NODE_BIN, "-felix-ready"];
        const r = await run("nsenter", argv, { env: nodeEnv });
        if (r.code !== 0) throw new Error(`calico-node not ready: ${r.stderr}`);
      },
      90_000,
      500,
    );
    docker = await dockerUp({
      netnsPath: host.path,
      dir: join(dir, "docker"),
      nodename: opts.node,
      etcdEndpoints: fwd.url,
      pluginEnv: opts.pluginEnv ?? {},
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const node = docker;
  return {
    etcd,
    store,
    client: new CalicoClient(store),
    host,
    docker: node,
    async d(...args: string[]) {
      const out = await dockerCli(node.socket, args);
      if (out.code !== 0) throw new Error(`docker ${args.join(" ")} failed: ${out.stderr}`);
      return out.stdout.trim();
    },
    stop,
  };
}
