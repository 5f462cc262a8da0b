/**
 * calico-node's IPv6 start-up against a real etcd, in a namespace of its own: `IP6` as an
 * address, autodetected, or `none`; the IPv6 default pool from `CALICO_IPV6POOL_*`, or none when
 * `FELIX_IPV6SUPPORT=false`; and a wrong-family `IP6` refused before anything is written.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { createNetns, type Forward, forwardIntoNetns, type Netns, removeAll } from "../support/netns.js";

const NODE_BIN = join(import.meta.dirname, "../../bin/calico-node");
let dir: string;
let etcd: EtcdServer;
let kv: EtcdKV;
let store: CalicoResourceStore;
let host: Netns;
let fwd: Forward;

function startup(extra: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child: ChildProcess = spawn(
    "nsenter",
    [`--net=${host.path}`, process.execPath, NODE_BIN, "-startup"],
    {
      env: {
        PATH: process.env.PATH,
        NODENAME: "v6node",
        ETCD_ENDPOINTS: fwd.url,
        IP: "autodetect",
        IP_AUTODETECTION_METHOD: "interface=eth0",
        CALICO_IPV4POOL_CIDR: "10.71.0.0/16",
        CALICO_NODENAME_FILE: join(dir, "nodename"),
        ...extra,
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stderr })));
}

async function wipe(): Promise<void> {
  for (const k of (await kv.list("/calico/")).kvs) await kv.delete(k.key);
}

async function ipv6Address(): Promise<string | undefined> {
  const node = await store.get({ kind: "Node", name: "v6node" });
  return (node.spec as { bgp?: { ipv6Address?: string } }).bgp?.ipv6Address;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-node6-"));
  etcd = await startEtcd();
  kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  store = new CalicoResourceStore(kv);
  host = await createNetns("cts-nd6");
  await host.execOk(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"]);
  await host.execOk(["ip", "addr", "add", "172.28.0.1/24", "dev", "eth0"]);
  await host.execOk(["ip", "addr", "add", "fd00:28::1/64", "dev", "eth0", "nodad"]);
  await host.execOk(["ip", "link", "set", "eth0", "up"]);
  await host.execOk(["ip", "link", "set", "peer0", "up"]);
  const url = new URL(etcd.endpoint);
  fwd = await forwardIntoNetns(host, { host: url.hostname, port: Number(url.port) });
}, 60_000);

beforeEach(async () => {
  await wipe();
});

afterAll(async () => {
  await fwd?.close();
  await host?.remove();
  await removeAll();
  await kv?.close();
  await etcd?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("calico-node IPv6 start-up", () => {
  it("IP6=<addr> takes the interface's prefix; IPV6POOL settings shape the default IPv6 pool", async () => {
    const r = await startup({
      IP6: "fd00:28::1",
      CALICO_IPV6POOL_CIDR: "fd10:28::/112",
      CALICO_IPV6POOL_BLOCK_SIZE: "124",
      CALICO_IPV6POOL_NAT_OUTGOING: "true",
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await ipv6Address()).toBe("fd00:28::1/64");
    const pool = await store.get({ kind: "IPPool", name: "default-ipv6-ippool" });
    expect(pool.spec).toMatchObject({ cidr: "fd10:28::/112", blockSize: 124, natOutgoing: true });
  });

  it("IP6=autodetect uses IP6_AUTODETECTION_METHOD; IP6=none keeps what the Node has", async () => {
    expect((await startup({ IP6: "autodetect", IP6_AUTODETECTION_METHOD: "cidr=fd00:28::/48" })).code).toBe(
      0,
    );
    expect(await ipv6Address()).toBe("fd00:28::1/64");
    expect((await startup({ IP6: "none" })).code).toBe(0);
    expect(await ipv6Address()).toBe("fd00:28::1/64");
    // Without IP6 there is no IPv6 autodetection, so a fresh Node has no IPv6 address.
    await wipe();
    expect((await startup({})).code).toBe(0);
    expect(await ipv6Address()).toBeUndefined();
  });

  it("FELIX_IPV6SUPPORT=false makes no IPv6 pool; otherwise a random ULA /48 is made", async () => {
    expect((await startup({ FELIX_IPV6SUPPORT: "false" })).code).toBe(0);
    const pools = (await store.list("IPPool")).items.map((p) => String(p.spec?.cidr));
    expect(pools).toEqual(["10.71.0.0/16"]);
    expect((await startup({})).code).toBe(0);
    const v6 = (await store.list("IPPool")).items
      .map((p) => String(p.spec?.cidr))
      .filter((c) => c.includes(":"));
    expect(v6).toHaveLength(1);
    expect(v6[0]).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
  });

  it("refuses an IP6 of the wrong family, or autodetection that finds nothing, writing nothing", async () => {
    const wrong = await startup({ IP6: "10.0.0.1" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("invalid IP6 '10.0.0.1': not an IPv6 address");
    const none = await startup({ IP6: "autodetect", IP6_AUTODETECTION_METHOD: "cidr=fd99::/16" });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("failed to autodetect an IPv6 address");
    expect((await store.list("Node")).items).toHaveLength(0);
  });
});
