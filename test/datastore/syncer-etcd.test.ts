/**
 * The syncer against a real etcd. Its client goes through a TCP proxy so a test can take the
 * connection away, change and compact the datastore through a second client, and give the
 * connection back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { RevisionCompactedError } from "../../src/datastore/errors.js";
import { EtcdKV } from "../../src/datastore/etcd/etcd-kv.js";
import { CalicoResourceStore } from "../../src/datastore/resources/store.js";
import { jsonPrefixSource, resourceSource } from "../../src/datastore/syncer/sources.js";
import { Syncer } from "../../src/datastore/syncer/syncer.js";
import { eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { recordSyncer } from "../support/syncer-recorder.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const ROOT = "/calico/resources/v3/projectcalico.org";
const FAST = { minResyncIntervalMs: 50, listRetryMs: 100, watchRetryMs: 50 };

const pool = (name: string, cidr: string): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind: "IPPool",
  metadata: { name },
  spec: { cidr },
});

describe("Syncer on etcd", () => {
  let etcd: EtcdServer;
  let admin: EtcdKV;
  let store: CalicoResourceStore;
  let proxy: TcpProxy;
  let syncKV: EtcdKV;
  let syncer: Syncer | undefined;

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
    await syncer?.stop();
    syncer = undefined;
    await syncKV?.close();
    await proxy?.close();
  });

  async function startSyncer(opts = {}, ...kinds: string[]) {
    proxy = await startTcpProxy(etcd.endpoint);
    syncKV = new EtcdKV({ endpoints: [proxy.endpoint], requestTimeoutMs: 1_000 });
    const rec = recordSyncer();
    syncer = new Syncer(
      syncKV,
      kinds.map((k) => resourceSource(k)),
      rec,
      { ...FAST, ...opts },
    );
    syncer.start();
    await eventually(() => expect(rec.statuses).toContain("InSync"));
    return rec;
  }

  async function wipe() {
    for (const kv of (await admin.list("/calico/")).kvs) await admin.delete(kv.key);
  }

  it("reports WaitForDatastore, ResyncInProgress, then InSync after every initial list", async () => {
    await wipe();
    await store.create(pool("p1", "10.1.0.0/16"));
    await store.create({
      apiVersion: "projectcalico.org/v3",
      kind: "Profile",
      metadata: { name: "web" },
      spec: {},
    });
    const rec = await startSyncer({}, "IPPool", "Profile", "HostEndpoint");
    expect(rec.statuses).toEqual(["WaitForDatastore", "ResyncInProgress", "InSync"]);
    const inSyncAt = rec.timeline.indexOf("status:InSync");
    const initial = rec.timeline.slice(0, inSyncAt).filter((t) => !t.startsWith("status:"));
    expect(initial.sort()).toEqual([
      `new:${ROOT}/ippools/p1`,
      `new:${ROOT}/profiles/projectcalico-default-allow`,
      `new:${ROOT}/profiles/web`,
    ]);
    const p1 = rec.updates.find((u) => u.key.endsWith("/p1"));
    expect(p1?.value).toMatchObject({ kind: "IPPool", spec: { cidr: "10.1.0.0/16" } });
  });

  it("streams live creates, updates and deletes with their revisions", async () => {
    await wipe();
    const rec = await startSyncer({}, "IPPool");
    rec.takeNew();
    const created = await store.create(pool("live", "10.2.0.0/16"));
    const updated = await store.update({ ...created, spec: { cidr: "10.3.0.0/16" } });
    await store.delete({ kind: "IPPool", name: "live" });
    const deletedAt = (await admin.list("/calico/")).revision;
    await eventually(() => expect(rec.updates.length).toBeGreaterThanOrEqual(3));
    expect(rec.takeNew()).toEqual([
      `new:${ROOT}/ippools/live@${created.metadata.resourceVersion}`,
      `updated:${ROOT}/ippools/live@${updated.metadata.resourceVersion}`,
      `deleted:${ROOT}/ippools/live@${deletedAt}`,
    ]);
  });

  it("after a compaction while its watch was down, re-lists and emits deletes for vanished keys", async () => {
    await wipe();
    await store.create(pool("keep", "10.10.0.0/16"));
    const change = await store.create(pool("change", "10.11.0.0/16"));
    await store.create(pool("vanish", "10.12.0.0/16"));
    // Only compaction may trigger the re-list here: plain watch errors just re-watch.
    const rec = await startSyncer({ maxErrorsWithoutProgress: 1_000 }, "IPPool");
    rec.takeNew();

    proxy.cut();
    await eventually(() => expect(rec.errors.length).toBeGreaterThan(0));
    await store.delete({ kind: "IPPool", name: "vanish" });
    await store.update({ ...change, spec: { cidr: "10.13.0.0/16" } });
    await store.create(pool("appear", "10.14.0.0/16"));
    const head = (await admin.list("/calico/")).revision;
    await admin.compact(head);
    proxy.restore();

    await eventually(() => expect(rec.updates.length).toBeGreaterThanOrEqual(6), 10_000);
    expect(rec.errors.some((e) => e.error instanceof RevisionCompactedError)).toBe(true);
    expect(rec.takeNew().sort()).toEqual(
      [
        `deleted:${ROOT}/ippools/vanish@${head}`,
        `new:${ROOT}/ippools/appear@${head}`,
        `updated:${ROOT}/ippools/change@${BigInt(head) - 1n}`,
      ].sort(),
    );
    // Watching again after the re-list.
    await store.create(pool("later", "10.15.0.0/16"));
    await eventually(() =>
      expect(rec.takeNew()).toEqual([
        expect.stringContaining("new:/calico/resources/v3/projectcalico.org/ippools/later@"),
      ]),
    );
  });

  it("resumes a dropped watch from its last revision without repeating events", async () => {
    await wipe();
    const rec = await startSyncer({ maxErrorsWithoutProgress: 1_000 }, "IPPool");
    await store.create(pool("before", "10.20.0.0/16"));
    await eventually(() => expect(rec.updates).toHaveLength(1));
    proxy.cut();
    await eventually(() => expect(rec.errors.length).toBeGreaterThan(0));
    await store.create(pool("during", "10.21.0.0/16"));
    proxy.restore();
    await eventually(() => expect(rec.updates).toHaveLength(2), 10_000);
    await store.create(pool("after", "10.22.0.0/16"));
    await eventually(() => expect(rec.updates).toHaveLength(3));
    await new Promise((r) => setTimeout(r, 200));
    expect(rec.updates.map((u) => `${u.type}:${u.key.split("/").at(-1)}`)).toEqual([
      "new:before",
      "new:during",
      "new:after",
    ]);
  });

  it("watches raw prefixes with a custom decoder and deletes what stops decoding", async () => {
    await wipe();
    proxy = await startTcpProxy(etcd.endpoint);
    syncKV = new EtcdKV({ endpoints: [proxy.endpoint] });
    await admin.put("/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26", '{"cidr":"10.0.0.0/26"}');
    const rec = recordSyncer();
    syncer = new Syncer(syncKV, [jsonPrefixSource("blocks", "/calico/ipam/v2/assignment/")], rec, FAST);
    syncer.start();
    await eventually(() => expect(rec.statuses).toContain("InSync"));
    expect(rec.updates).toMatchObject([{ source: "blocks", type: "new", value: { cidr: "10.0.0.0/26" } }]);
    await admin.put("/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26", "garbage");
    await eventually(() => expect(rec.updates).toHaveLength(2));
    expect(rec.updates[1]).toMatchObject({ type: "deleted", value: null });
    expect(rec.errors).toHaveLength(1);
  });

  it("emits deletes for everything it holds when stopped", async () => {
    await wipe();
    await store.create(pool("a", "10.30.0.0/16"));
    const rec = await startSyncer({}, "IPPool", "Profile");
    rec.takeNew();
    await syncer!.stop();
    expect(rec.takeNew().sort()).toEqual([
      expect.stringMatching(`^deleted:${ROOT}/ippools/a@`),
      expect.stringMatching(`^deleted:${ROOT}/profiles/projectcalico-default-allow@`),
    ]);
  });

  it("waits for an unreachable datastore and syncs once it answers", async () => {
    await wipe();
    await store.create(pool("late", "10.40.0.0/16"));
    proxy = await startTcpProxy(etcd.endpoint);
    proxy.cut();
    syncKV = new EtcdKV({ endpoints: [proxy.endpoint], requestTimeoutMs: 500 });
    const rec = recordSyncer();
    syncer = new Syncer(syncKV, [resourceSource("IPPool")], rec, FAST);
    syncer.start();
    await new Promise((r) => setTimeout(r, 400));
    expect(rec.statuses).toEqual(["WaitForDatastore"]);
    expect(rec.errors.length).toBeGreaterThan(0);
    proxy.restore();
    await eventually(
      () => expect(rec.statuses).toEqual(["WaitForDatastore", "ResyncInProgress", "InSync"]),
      10_000,
    );
    expect(rec.updates.map((u) => u.key)).toEqual([`${ROOT}/ippools/late`]);
  });
});
