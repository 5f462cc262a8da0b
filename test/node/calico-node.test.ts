/**
 * calico-node in two node namespaces joined by a bridge, with a real etcd: start-up writes each
 * Node with its autodetected address, the default pool and cluster defaults; Felix and BIRD come
 * up and report ready; a block claimed by one node is routed to it on the other, learned from
 * BIRD; a killed BIRD is restarted; SIGTERM stops cleanly. Bad settings fail before any write.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import { IPAMClient } from "../../src/ipam/index.js";
import { attachHost, createBridge } from "../../src/lab/fabric.js";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { createNetns, type Forward, forwardIntoNetns, type Netns, removeAll } from "../support/netns.js";

const NODE_BIN = join(import.meta.dirname, "../../bin/calico-node");
let dir: string;
let etcd: EtcdServer;
let kv: EtcdKV;
let store: CalicoResourceStore;
let fabric: Netns;
const hosts: Netns[] = [];
const fwds: Forward[] = [];
const procs: ChildProcess[] = [];
const logs: string[] = ["", ""];

function env(i: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const d = join(dir, `node${i}`);
  return {
    PATH: process.env.PATH,
    NODENAME: `node${i}`,
    ETCD_ENDPOINTS: (fwds[i] as Forward).url,
    IP: "autodetect",
    IP_AUTODETECTION_METHOD: "interface=eth0",
    CALICO_IPV4POOL_CIDR: "10.70.0.0/16",
    CALICO_NODENAME_FILE: join(d, "nodename"),
    CALICO_RUN_DIR: join(d, "run"),
    CALICO_CONFD_DIR: join(d, "confd"),
    FELIX_HEALTHENABLED: "true",
    FELIX_LOGFILEPATH: "none",
    FELIX_MTUFILEPATH: join(d, "mtu"),
    FELIX_LOGSEVERITYSCREEN: "Warning",
    ...extra,
  };
}

function nodeCmd(i: number, args: string[], e = env(i)): ChildProcess {
  return spawn("nsenter", [`--net=${(hosts[i] as Netns).path}`, process.execPath, NODE_BIN, ...args], {
    env: e,
    stdio: ["ignore", "ignore", "pipe"],
  });
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  return { code, stderr };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-node-"));
  etcd = await startEtcd();
  kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  store = new CalicoResourceStore(kv);
  const url = new URL(etcd.endpoint);
  fabric = await createNetns("cts-ndf");
  await createBridge(fabric.name);
  for (let i = 0; i < 2; i++) {
    const h = await createNetns("cts-ndn");
    hosts.push(h);
    await attachHost(fabric.name, `n${i}`, { netns: h.name, address: `172.29.0.${i + 1}/24` });
    fwds.push(await forwardIntoNetns(h, { host: url.hostname, port: Number(url.port) }));
  }
}, 60_000);

afterAll(async () => {
  // calico-node stops its BIRD on SIGTERM; whatever still runs in the namespaces is killed after.
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 1_000));
  for (const h of hosts) {
    const pids = (await run("ip", ["netns", "pids", h.name])).stdout;
    for (const pid of pids.split("\n").filter((x) => x.trim())) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
  for (const f of fwds) await f.close();
  for (const h of hosts) await h.remove();
  await fabric?.remove();
  await removeAll();
  await kv?.close();
  await etcd?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("calico-node", () => {
  it("fails on a bad setting with a message naming it and writes nothing", async () => {
    const r = await exitOf(nodeCmd(0, ["-startup"], env(0, { CALICO_IPV4POOL_BLOCK_SIZE: "40" })));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("invalid CALICO_IPV4POOL_BLOCK_SIZE '40'");
    expect((await store.list("Node")).items).toHaveLength(0);
  });

  it("-startup writes the Node with its autodetected address, the default pool and cluster defaults", async () => {
    const r = await exitOf(nodeCmd(0, ["-startup"]));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Created default IPv4 pool 10.70.0.0/16");
    const node = await store.get({ kind: "Node", name: "node0" });
    expect((node.spec as { bgp: { ipv4Address: string } }).bgp.ipv4Address).toBe("172.29.0.1/24");
    const pool = await store.get({ kind: "IPPool", name: "default-ipv4-ippool" });
    expect(pool.spec).toMatchObject({ cidr: "10.70.0.0/16", natOutgoing: true, blockSize: 26 });
    const info = await store.get({ kind: "ClusterInformation", name: "default" });
    expect(info.spec).toMatchObject({ datastoreReady: true });
    await store.get({ kind: "FelixConfiguration", name: "node.node0" });
    // Idempotent.
    expect((await exitOf(nodeCmd(0, ["-startup"]))).code).toBe(0);
  });

  it("refuses an address another node already has", async () => {
    const r = await exitOf(nodeCmd(1, ["-startup"], env(1, { IP: "172.29.0.1/24", NODENAME: "imposter" })));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("conflicting node detected");
  });

  it("runs Felix and BIRD, reports ready, and routes a remote node's block learned over BGP", async () => {
    for (let i = 0; i < 2; i++) {
      const p = nodeCmd(i, []);
      p.stderr?.on("data", (d: Buffer) => {
        logs[i] += d.toString();
      });
      procs.push(p);
    }
    await eventually(
      async () => {
        for (let i = 0; i < 2; i++) {
          const r = await exitOf(nodeCmd(i, ["-felix-ready", "-bird-ready"]));
          expect(r.stderr).toBe("");
          expect(r.code).toBe(0);
        }
      },
      25_000,
      500,
    );
    const ipam = IPAMClient.fromResourceStore(store);
    const got = await ipam.autoAssign({ handleId: "w1", hostname: "node0", num4: 1 });
    const ip = got.ipv4.ips[0]?.split("/")[0] ?? "";
    expect(ip).toMatch(/^10\.70\./);
    await eventually(
      async () => {
        const routes = (await (hosts[1] as Netns).execOk(["ip", "route", "show", "proto", "bird"])).stdout;
        expect(routes).toMatch(/10\.70\.\d+\.\d+\/26 via 172\.29\.0\.1 dev eth0/);
      },
      10_000,
      200,
    );
    const own = (await (hosts[0] as Netns).execOk(["ip", "route", "show", "proto", "bird"])).stdout;
    expect(own).toMatch(/blackhole 10\.70\.\d+\.\d+\/26/);
  }, 60_000);

  it("restarts BIRD when it dies, and stops cleanly on SIGTERM", async () => {
    const pids = (
      await (hosts[0] as Netns).execOk(["pgrep", "-f", `bird -f -R -c ${join(dir, "node0", "confd")}`])
    ).stdout.trim();
    expect(pids).not.toBe("");
    process.kill(Number(pids.split("\n")[0]), "SIGKILL");
    await eventually(
      async () => expect((await exitOf(nodeCmd(0, ["-bird-ready"]))).code).toBe(0),
      15_000,
      300,
    );
    const [p0] = procs;
    const exited = new Promise<number | null>((r) => p0?.once("exit", (c) => r(c)));
    p0?.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 30_000);
});
