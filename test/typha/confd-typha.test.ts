/**
 * The confd role fed by Typha's bgp syncer: it renders BIRD's configuration from what Typha
 * serves (keeping only its own node's block affinities), and keeps rendering after its Typha dies
 * and it moves to the other one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startConfd } from "../../src/bgp/index.js";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import { eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { startTestTypha, type TestTypha } from "../support/typha.js";

const API = "projectcalico.org/v3";
let etcd: EtcdServer;
let admin: EtcdKV;
let dir: string;

beforeAll(async () => {
  etcd = await startEtcd();
  admin = new EtcdKV({ endpoints: [etcd.endpoint] });
  dir = await mkdtemp(join(tmpdir(), "cts-confd-typha-"));
});
afterAll(async () => {
  await admin.close();
  await etcd.stop();
  await rm(dir, { recursive: true, force: true });
});

const node = (name: string, ip: string) => ({
  apiVersion: API,
  kind: "Node",
  metadata: { name },
  spec: { bgp: { ipv4Address: `${ip}/24` } },
});

it("renders from Typha, only its own blocks, and carries on through a Typha failure", async () => {
  const store = new CalicoResourceStore(admin);
  await store.create(node("node1", "172.31.0.1"));
  await store.create(node("node2", "172.31.0.2"));
  await store.create({
    apiVersion: API,
    kind: "IPPool",
    metadata: { name: "p" },
    spec: { cidr: "10.50.0.0/16" },
  });
  await admin.put(
    "/calico/ipam/v2/host/node1/ipv4/block/10.50.1.0-26",
    '{"state":"confirmed","deleted":"false"}',
  );
  await admin.put(
    "/calico/ipam/v2/host/node2/ipv4/block/10.50.2.0-26",
    '{"state":"confirmed","deleted":"false"}',
  );
  const typhas: TestTypha[] = [await startTestTypha(etcd.endpoint), await startTestTypha(etcd.endpoint)];
  const [a, b] = typhas as [TestTypha, TestTypha];
  const confd = startConfd({
    nodeName: "node1",
    typha: { addresses: [a.address, b.address], readTimeoutMs: 30_000, writeTimeoutMs: 10_000 },
    configFile: join(dir, "bird.cfg"),
    birdSocket: join(dir, "none.ctl"),
    debounceMs: 10,
  });
  try {
    await confd.firstRender;
    await eventually(() => expect(confd.lastConfig()).toContain("172.31.0.2"), 10_000);
    expect(confd.lastConfig()).toContain("10.50.1.0/26");
    expect(confd.lastConfig()).not.toContain("10.50.2.0/26");
    expect(a.server.connections.map((c) => c.syncerType)).toEqual(["bgp"]);

    await a.close();
    await store.create(node("node3", "172.31.0.3"));
    await eventually(() => expect(confd.lastConfig()).toContain("172.31.0.3"), 15_000);
    expect(b.server.connections.map((c) => c.syncerType)).toEqual(["bgp"]);
    // The resync after the move did not drop anything it already had.
    expect(confd.lastConfig()).toContain("172.31.0.2");
    expect(confd.lastConfig()).toContain("10.50.1.0/26");
  } finally {
    await confd.stop();
    await b.close();
  }
});
