/**
 * Typha against a real etcd: clients fed by Typha end with exactly the store a direct etcd syncer
 * builds (felix and bgp syncer types, one client and 500), after churn; a client moves to the
 * other Typha when its Typha dies and resyncs without a flush; slow clients are dropped without
 * slowing the others; the connection target sheds connections to the other Typha; health and
 * metrics.
 */
import { connect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bgpSources, CalicoResourceStore, EtcdKV, felixSources, Syncer } from "../../src/datastore/index.js";
import { type TyphaClientOptions, TyphaSyncClient } from "../../src/typha/index.js";
import { FrameDecoder, frame } from "../../src/typha/proto.js";
import { churn } from "../support/churn.js";
import { eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import {
  comparable,
  type StoreRecorder,
  startTestTypha,
  storeRecorder,
  type TestTypha,
} from "../support/typha.js";

let etcd: EtcdServer;
let admin: EtcdKV;
let store: CalicoResourceStore;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  etcd = await startEtcd();
  admin = new EtcdKV({ endpoints: [etcd.endpoint] });
  store = new CalicoResourceStore(admin);
});
afterAll(async () => {
  await admin.close();
  await etcd.stop();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const kv of (await admin.list("/calico/")).kvs) await admin.delete(kv.key);
});

async function typha(params: Record<string, string> = {}): Promise<TestTypha> {
  const t = await startTestTypha(etcd.endpoint, params);
  cleanups.push(() => t.close());
  return t;
}

function client(
  addresses: string[],
  syncerType: "felix" | "bgp" = "felix",
  extra: Partial<TyphaClientOptions> = {},
): { client: TyphaSyncClient; rec: StoreRecorder } {
  const rec = storeRecorder();
  const c = new TyphaSyncClient({ addresses, syncerType, hostname: "test", retryPauseMs: 50, ...extra }, rec);
  c.start();
  cleanups.push(() => c.stop());
  return { client: c, rec };
}

function direct(syncerType: "felix" | "bgp"): StoreRecorder {
  const rec = storeRecorder();
  const kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  const s = new Syncer(kv, syncerType === "felix" ? felixSources() : bgpSources(), rec);
  s.start();
  cleanups.push(async () => {
    await s.stop();
    await kv.close();
  });
  return rec;
}

describe("Typha fan-out", () => {
  it.each(["felix", "bgp"] as const)(
    "a %s client ends with the direct syncer's store after churn",
    async (type) => {
      await churn(store, admin, 1, 40);
      const t = await typha();
      const { rec } = client([t.address], type);
      const ref = direct(type);
      await eventually(() => expect(rec.inSync() && ref.inSync()).toBe(true), 15_000);
      const noops = await churn(store, admin, 2, 150);
      await eventually(() => expect(comparable(rec.store)).toEqual(comparable(ref.store)), 15_000);
      expect(rec.store.size).toBeGreaterThan(5);
      expect(rec.statuses).toEqual(["WaitForDatastore", "ResyncInProgress", "InSync"]);
      // No-op rewrites reached the direct syncer but Typha held them back.
      if (noops > 0) expect(t.caches.get(type)?.stats.updatesSkipped).toBeGreaterThan(0);
      if (type === "bgp") expect([...rec.store.values()].some((e) => e.source === "BGPPeer")).toBe(true);
    },
  );

  it("500 clients of one Typha each receive the direct syncer's state, after churn", async () => {
    await churn(store, admin, 3, 30);
    const t = await typha();
    const clients = Array.from({ length: 500 }, () => client([t.address]).rec);
    const ref = direct("felix");
    await eventually(() => expect(clients.every((c) => c.inSync()) && ref.inSync()).toBe(true), 60_000, 200);
    expect(t.server.connections.length).toBe(500);
    await churn(store, admin, 4, 80);
    await eventually(
      () => {
        const want = JSON.stringify(comparable(ref.store));
        const behind = clients.filter((c) => JSON.stringify(comparable(c.store)) !== want).length;
        expect(behind).toBe(0);
      },
      60_000,
      250,
    );
    // One shared snapshot served most of them.
    expect(t.caches.get("felix")?.stats.snapshotsReused).toBeGreaterThan(0);
  }, 120_000);

  it("moves to the other Typha when its Typha dies, resyncs, and never flushes", async () => {
    await churn(store, admin, 5, 60);
    const a = await typha();
    const b = await typha();
    const { client: c, rec } = client([a.address, b.address]);
    const ref = direct("felix");
    await eventually(
      () => expect(rec.inSync() && ref.inSync() && c.address === a.address).toBe(true),
      15_000,
    );
    const before = rec.updates.length;
    await a.close();
    // Changes while the client is between Typhas: one pool gone, one new, one changed.
    const pools = (await store.list("IPPool")).items;
    const [gone, changed] = pools;
    if (!gone || !changed) throw new Error("churn made fewer than two pools");
    await store.delete({ kind: "IPPool", name: gone.metadata.name as string });
    await store.update({
      ...changed,
      spec: { ...(changed.spec as object), blockSize: 30 },
    } as typeof changed);
    await store.create({
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "new" },
      spec: { cidr: "10.99.0.0/16" },
    });
    await eventually(() => expect(c.address).toBe(b.address), 15_000);
    await eventually(() => expect(comparable(rec.store)).toEqual(comparable(ref.store)), 15_000);
    // Exactly the three changes reached the consumer: no flush, no re-delivery of the rest.
    const path = (n: string) => `/calico/resources/v3/projectcalico.org/ippools/${n}`;
    expect(
      rec.updates
        .slice(before)
        .map((u) => `${u.type} ${u.key}`)
        .sort(),
    ).toEqual(
      [
        `deleted ${path(gone.metadata.name as string)}`,
        `updated ${path(changed.metadata.name as string)}`,
        `new ${path("new")}`,
      ].sort(),
    );
    expect(c.connections).toBe(2);
    expect(rec.statuses.at(-1)).toBe("InSync");
  });

  it("drops a client that stops reading, without slowing the others", async () => {
    const t = await typha({ ServerMaxFallBehindSecs: "1", ServerNewClientFallBehindGracePeriod: "0" });
    const { rec } = client([t.address]);
    await eventually(() => expect(rec.inSync()).toBe(true), 15_000);
    // A raw client: handshake, then never read again.
    const slow = connect({ host: "127.0.0.1", port: t.port });
    await new Promise<void>((r) => slow.once("connect", () => r()));
    slow.write(
      frame({
        type: "ClientHello",
        hostname: "slow",
        info: "",
        version: "test",
        syncerType: "felix",
        supportsDecoderRestart: false,
        supportedCompressionAlgorithms: [],
        supportsModernPolicyKeys: true,
        clientConnID: 1,
      }),
    );
    const decoder = new FrameDecoder(1 << 30);
    await new Promise<void>((resolve) => {
      slow.on("data", (d: Buffer) => {
        if (decoder.push(d).some((m) => (m as { type: string }).type === "SyncStatus")) resolve();
      });
    });
    slow.pause();
    const closed = new Promise<void>((r) => slow.once("close", () => r()));
    const slowConn = t.server.connections.find((c) => c.hostname === "slow");
    // Big values: enough bytes to fill the slow client's socket buffers.
    const big = "x".repeat(100_000);
    const lat: number[] = [];
    cleanups.push(async () => {
      for (let i = 0; i < 300; i++)
        await admin
          .delete(`/calico/resources/v3/projectcalico.org/globalnetworksets/big-${i}`)
          .catch(() => undefined);
    });
    for (let i = 0; i < 300 && !slowConn?.isClosed; i++) {
      const name = `big-${i}`;
      const started = Date.now();
      await store.create({
        apiVersion: "projectcalico.org/v3",
        kind: "GlobalNetworkSet",
        metadata: { name, labels: { pad: "y" }, annotations: { pad: big } },
        spec: { nets: [`10.9.${i}.0/24`] },
      });
      await eventually(
        () =>
          expect(rec.store.has(`/calico/resources/v3/projectcalico.org/globalnetworksets/${name}`)).toBe(
            true,
          ),
        10_000,
        5,
      );
      lat.push(Date.now() - started);
    }
    expect(slowConn?.isClosed).toBe(true);
    // Reading again, the slow client finds its connection cut.
    slow.on("data", () => undefined);
    slow.resume();
    await closed;
    lat.sort((x, y) => x - y);
    // The healthy client kept receiving every write promptly while the slow one was stuck.
    expect(lat[Math.floor(lat.length / 2)]).toBeLessThan(500);
    expect(t.server.connections.length).toBe(1);
  }, 120_000);

  it("sheds connections over the target one per interval; they move to the other Typha", async () => {
    const a = await typha({ ConnectionDropIntervalSecs: "0.2" });
    const b = await typha();
    const clients = Array.from({ length: 6 }, () => client([a.address, b.address]));
    await eventually(() => expect(clients.every((c) => c.client.address === a.address)).toBe(true), 15_000);
    a.server.setMaxConns(2);
    await eventually(() => expect(a.server.connections.length).toBe(2), 15_000);
    await eventually(() => expect(b.server.connections.length).toBe(4), 15_000);
    expect((await a.metrics.registry.getSingleMetricAsString("typha_connections_dropped")).trim()).toMatch(
      /typha_connections_dropped 4$/,
    );
    // The moved clients still see changes.
    await store.create({
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "after" },
      spec: { cidr: "10.77.0.0/16" },
    });
    await eventually(
      () =>
        expect(
          clients.every((c) => c.rec.store.has("/calico/resources/v3/projectcalico.org/ippools/after")),
        ).toBe(true),
      15_000,
    );
  });

  it("serves /liveness, /readiness and typha_* metrics", async () => {
    const t = await typha({
      HealthEnabled: "true",
      HealthPort: "0",
      HealthHost: "127.0.0.1",
      PrometheusMetricsEnabled: "true",
      PrometheusMetricsPort: "0",
      PrometheusMetricsHost: "127.0.0.1",
    });
    await eventually(
      async () => expect((await fetch(`http://127.0.0.1:${t.healthPort}/readiness`)).status).toBe(200),
      15_000,
    );
    const live = await fetch(`http://127.0.0.1:${t.healthPort}/liveness`);
    expect(live.status).toBe(200);
    expect(await live.text()).toMatch(/felix-cache.*reporting ready/);
    const { rec } = client([t.address]);
    await eventually(() => expect(rec.inSync()).toBe(true), 15_000);
    await store.create({
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "m" },
      spec: { cidr: "10.78.0.0/16" },
    });
    await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${t.metricsPort}/metrics`)).text();
      expect(text).toMatch(/^typha_connections_active 1$/m);
      expect(text).toMatch(/^typha_connections_streaming\{syncer="felix"\} 1$/m);
      expect(text).toMatch(/^typha_cache_size\{syncer="felix"\} [1-9]/m);
      expect(text).toMatch(/^typha_updates_total\{syncer="felix"\} [1-9]/m);
      expect(text).toMatch(/^typha_breadcrumb_seq_number\{syncer="felix"\} [1-9]/m);
      expect(text).toMatch(/^typha_snapshots_generated\{syncer="felix"\} 1$/m);
    }, 15_000);
    expect((await fetch(`http://127.0.0.1:${t.healthPort}/other`)).status).toBe(404);
  });
});

describe("connection target from the node count (static rebalancing)", () => {
  it("sheds down to Calico's target and stops shedding when the cluster grows", async () => {
    // 3 replicas, 2 syncer types: target = 2 × (1 + ⌊⌊nodes × 120 / 2⌋ / 100⌋).
    const t = await typha({
      ConnectionRebalancingMode: "static",
      Replicas: "3",
      MaxConnectionsLowerLimit: "1",
      K8sServicePollIntervalSecs: "0.2",
      ConnectionDropIntervalSecs: "0.1",
    });
    const other = await typha();
    const clients = Array.from({ length: 5 }, () => client([t.address, other.address]));
    await eventually(() => expect(t.server.maxConns).toBe(2), 10_000);
    await eventually(() => expect(t.server.connections.length).toBe(2), 15_000);
    await eventually(() => expect(clients.every((c) => c.client.address)).toBe(true), 15_000);
    for (let i = 0; i < 5; i++)
      await store.create({
        apiVersion: "projectcalico.org/v3",
        kind: "Node",
        metadata: { name: `n${i}` },
        spec: {},
      });
    await eventually(() => expect(t.server.maxConns).toBe(8), 10_000);
  });
});
