/**
 * The KVStore contract, run against every backend (real etcd and MemoryKV). Each test works
 * under its own key prefix so one store can serve the whole suite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InvalidRequestError,
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  RevisionCompactedError,
  UpdateConflictError,
} from "../../src/datastore/errors.js";
import type { KVStore, KVWatchEvent } from "../../src/datastore/kv.js";
import { collectWatch, eventually } from "../support/datastore.js";

export interface CompactableKV extends KVStore {
  compact(revision: string): Promise<void>;
}

export interface KVBackend {
  kv: CompactableKV;
  teardown(): Promise<void>;
}

let counter = 0;
const fresh = (name: string) => `/contract/${name}-${++counter}-${Date.now()}/`;

function errorOf<E extends Error>(promise: Promise<unknown>, type: new (...a: never[]) => E): Promise<E> {
  return promise.then(
    () => {
      throw new Error(`expected ${type.name}, the call succeeded`);
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(type);
      return err as E;
    },
  );
}

export function kvContract(name: string, open: () => Promise<KVBackend>): void {
  describe(`KVStore contract: ${name}`, () => {
    let backend: KVBackend;
    let kv: CompactableKV;
    beforeAll(async () => {
      backend = await open();
      kv = backend.kv;
    });
    afterAll(async () => {
      await backend.teardown();
    });

    it("put and get round-trip with revisions as decimal strings", async () => {
      const p = fresh("put");
      expect(await kv.get(`${p}a`)).toBeUndefined();
      const r1 = await kv.put(`${p}a`, "one");
      expect(r1).toMatch(/^\d+$/);
      const r2 = await kv.put(`${p}a`, "two");
      expect(BigInt(r2)).toBeGreaterThan(BigInt(r1));
      expect(await kv.get(`${p}a`)).toEqual({
        key: `${p}a`,
        value: "two",
        modRevision: r2,
        createRevision: r1,
        version: "2",
      });
    });

    it("create writes only absent keys and reports the existing value", async () => {
      const p = fresh("create");
      const rev = await kv.create(`${p}k`, "v1");
      expect((await kv.get(`${p}k`))?.modRevision).toBe(rev);
      const err = await errorOf(kv.create(`${p}k`, "v2"), ResourceAlreadyExistsError);
      expect(err.message).toBe(`resource already exists: ${p}k with error: <nil>`);
      expect(err.existing).toMatchObject({ key: `${p}k`, value: "v1", modRevision: rev });
      expect((await kv.get(`${p}k`))?.value).toBe("v1");
    });

    it("update is a compare-and-swap on modRevision", async () => {
      const p = fresh("update");
      const r1 = await kv.create(`${p}k`, "v1");
      const r2 = await kv.update(`${p}k`, "v2", r1);
      expect(BigInt(r2)).toBeGreaterThan(BigInt(r1));
      const stale = await errorOf(kv.update(`${p}k`, "v3", r1), UpdateConflictError);
      expect(stale.message).toBe(`update conflict: ${p}k`);
      expect(stale.latest).toMatchObject({ value: "v2", modRevision: r2, version: "2" });
      const missing = await errorOf(kv.update(`${p}missing`, "x", r1), ResourceNotFoundError);
      expect(missing.message).toBe(`resource does not exist: ${p}missing with error: <nil>`);
      await errorOf(kv.update(`${p}k`, "v3", "abc"), InvalidRequestError);
      await errorOf(kv.update(`${p}missing`, "v3", "0"), InvalidRequestError);
      expect((await kv.get(`${p}k`))?.value).toBe("v2");
    });

    it("delete returns the deleted pair and honours an optional modRevision", async () => {
      const p = fresh("delete");
      const r1 = await kv.create(`${p}a`, "A");
      const deleted = await kv.delete(`${p}a`);
      expect(deleted).toMatchObject({ key: `${p}a`, value: "A", modRevision: r1 });
      expect(await kv.get(`${p}a`)).toBeUndefined();
      await errorOf(kv.delete(`${p}a`), ResourceNotFoundError);

      const r2 = await kv.create(`${p}b`, "B1");
      const r3 = await kv.update(`${p}b`, "B2", r2);
      const stale = await errorOf(kv.delete(`${p}b`, r2), UpdateConflictError);
      expect(stale.latest).toMatchObject({ value: "B2", modRevision: r3 });
      expect((await kv.get(`${p}b`))?.value).toBe("B2");
      expect(await kv.delete(`${p}b`, r3)).toMatchObject({ value: "B2", modRevision: r3 });
      await errorOf(kv.delete(`${p}b`, r3), ResourceNotFoundError);
    });

    it("lists a prefix in key order, and only that prefix", async () => {
      const p = fresh("list");
      for (const key of ["ns10/a", "ns1/b", "ns1/a", "ns1-x/c", "ns2/a"]) await kv.put(`${p}${key}`, key);
      const all = await kv.list(p);
      expect(all.kvs.map((k) => k.key.slice(p.length))).toEqual([
        "ns1-x/c",
        "ns1/a",
        "ns1/b",
        "ns10/a",
        "ns2/a",
      ]);
      const ns1 = await kv.list(`${p}ns1/`);
      expect(ns1.kvs.map((k) => k.value)).toEqual(["ns1/a", "ns1/b"]);
      expect(BigInt(all.revision)).toBeGreaterThanOrEqual(BigInt(all.kvs.at(-1)!.modRevision));
      expect((await kv.list(`${p}nothing/`)).kvs).toEqual([]);
    });

    it("lists as of an earlier revision", async () => {
      const p = fresh("listrev");
      await kv.put(`${p}a`, "a1");
      const before = (await kv.list(p)).revision;
      await kv.put(`${p}a`, "a2");
      await kv.put(`${p}b`, "b1");
      await kv.delete(`${p}a`);
      const now = await kv.list(p);
      expect(now.kvs.map((k) => [k.key.slice(p.length), k.value])).toEqual([["b", "b1"]]);
      const then = await kv.list(p, { revision: before });
      expect(then.kvs.map((k) => [k.key.slice(p.length), k.value])).toEqual([["a", "a1"]]);
    });

    it("watches a prefix from a revision, with previous values", async () => {
      const p = fresh("watch");
      await kv.put(`${p}a`, "before");
      const start = (await kv.list(p)).revision;
      await kv.put(`${p}a`, "a2");
      await kv.put(`${p}b`, "b1");
      await kv.put(`${p.slice(0, -1)}x/other`, "not under the prefix");
      const w = collectWatch(kv, p, start);
      const rDel = (await kv.delete(`${p}a`)) && (await kv.list(p)).revision;
      await eventually(() => expect(w.events).toHaveLength(3));
      const [put1, put2, del] = w.events as [KVWatchEvent, KVWatchEvent, KVWatchEvent];
      expect(put1).toMatchObject({ type: "put", kv: { key: `${p}a`, value: "a2", version: "2" } });
      expect(put1.type === "put" && put1.prev?.value).toBe("before");
      expect(put2).toMatchObject({ type: "put", kv: { key: `${p}b`, value: "b1", version: "1" } });
      expect(del).toMatchObject({ type: "delete", key: `${p}a`, revision: rDel, prev: { value: "a2" } });
      expect(w.errors).toEqual([]);
      await w.close();
      await kv.put(`${p}c`, "after close");
      await new Promise((r) => setTimeout(r, 100));
      expect(w.events).toHaveLength(3);
    });

    it("a watch from the current revision sees only new writes", async () => {
      const p = fresh("watchnow");
      await kv.put(`${p}old`, "x");
      const w = collectWatch(kv, p, (await kv.list(p)).revision);
      await new Promise((r) => setTimeout(r, 50));
      await kv.put(`${p}new`, "y");
      await eventually(() => expect(w.events).toHaveLength(1));
      expect(w.events[0]).toMatchObject({ type: "put", kv: { key: `${p}new` } });
      await w.close();
    });

    it("reports a compacted start revision as RevisionCompactedError", async () => {
      const p = fresh("compact");
      await kv.put(`${p}a`, "1");
      const old = (await kv.list(p)).revision;
      await kv.put(`${p}a`, "2");
      await kv.put(`${p}a`, "3");
      const head = (await kv.list(p)).revision;
      await kv.compact(head);
      await errorOf(kv.list(p, { revision: old }), RevisionCompactedError);
      const w = collectWatch(kv, p, old);
      await eventually(() => expect(w.errors).toHaveLength(1));
      expect(w.errors[0]).toBeInstanceOf(RevisionCompactedError);
      expect(w.events).toEqual([]);
      // The compaction point itself stays readable.
      expect((await kv.list(p, { revision: head })).kvs.map((k) => k.value)).toEqual(["3"]);
      await w.close();
    });

    it("readMany reads keys and prefixes as one snapshot", async () => {
      const p = fresh("readmany");
      await kv.put(`${p}a`, "A");
      await kv.put(`${p}dir/x`, "X");
      const last = await kv.put(`${p}dir/y`, "Y");
      const res = await kv.readMany([{ key: `${p}a` }, { key: `${p}missing` }, { prefix: `${p}dir/` }]);
      expect(res.results.map((r) => r.map((k) => k.value))).toEqual([["A"], [], ["X", "Y"]]);
      expect(res.results[0]![0]).toMatchObject({ key: `${p}a`, version: "1" });
      expect(BigInt(res.revision)).toBeGreaterThanOrEqual(BigInt(last));
      expect((await kv.readMany([])).results).toEqual([]);
    });

    it("commit writes all or nothing, guarded on modRevisions", async () => {
      const p = fresh("commit");
      const ra = await kv.put(`${p}a`, "A1");
      await kv.put(`${p}gone`, "G");
      const ok = await kv.commit(
        [
          { key: `${p}a`, modRevision: ra },
          { key: `${p}new`, modRevision: "0" },
        ],
        [
          { type: "put", key: `${p}a`, value: "A2" },
          { type: "put", key: `${p}new`, value: "N" },
          { type: "delete", key: `${p}gone` },
        ],
      );
      expect(ok.succeeded).toBe(true);
      const a = await kv.get(`${p}a`);
      const n = await kv.get(`${p}new`);
      // One transaction: every write carries the commit's revision.
      expect(a).toMatchObject({ value: "A2", modRevision: ok.revision });
      expect(n).toMatchObject({ value: "N", modRevision: ok.revision, version: "1" });
      expect(await kv.get(`${p}gone`)).toBeUndefined();

      // A stale guard (the old revision, or "absent" for a key that exists) writes nothing.
      for (const guard of [
        { key: `${p}a`, modRevision: ra },
        { key: `${p}new`, modRevision: "0" },
      ]) {
        const failed = await kv.commit([guard], [{ type: "put", key: `${p}other`, value: "no" }]);
        expect(failed.succeeded).toBe(false);
      }
      expect(await kv.get(`${p}other`)).toBeUndefined();
      await errorOf(kv.commit([{ key: `${p}a`, modRevision: "x" }], []), InvalidRequestError);
    });

    it("a prefix guard fails once a key under the prefix is written after its revision; a failed commit can read", async () => {
      const p = fresh("prefixguard");
      const r1 = await kv.put(`${p}pools/a`, "A");
      const since = (await kv.readMany([{ prefix: `${p}pools/` }])).revision;
      await kv.put(`${p}elsewhere`, "E");
      const reads = [{ prefix: `${p}pools/` }, { key: `${p}elsewhere` }];
      // Writes outside the prefix, and an empty prefix, leave the guard holding.
      const ok = await kv.commit(
        [
          { prefix: `${p}pools/`, notModifiedAfter: since },
          { prefix: `${p}empty/`, notModifiedAfter: since },
          { key: `${p}pools/a`, modRevision: r1 },
        ],
        [{ type: "put", key: `${p}out`, value: "1" }],
        reads,
      );
      expect(ok).toMatchObject({ succeeded: true });
      expect(ok.read).toBeUndefined();
      for (const change of [() => kv.put(`${p}pools/b`, "B"), () => kv.put(`${p}pools/a`, "A2")]) {
        const at = await change();
        const failed = await kv.commit(
          [{ prefix: `${p}pools/`, notModifiedAfter: since }],
          [{ type: "put", key: `${p}out`, value: "no" }],
          reads,
        );
        expect(failed.succeeded).toBe(false);
        // The reads, as of the failed transaction: the change is in them.
        expect(failed.read?.results[0]?.map((k) => k.modRevision)).toContain(at);
        expect(failed.read?.results[1]?.map((k) => k.value)).toEqual(["E"]);
      }
      expect((await kv.get(`${p}out`))?.value).toBe("1");
      // A deletion under the prefix is not a write the prefix guard sees: the key guard does.
      const r2 = (await kv.get(`${p}pools/b`))!.modRevision;
      const now = (await kv.readMany([])).revision;
      await kv.delete(`${p}pools/b`);
      const afterDelete = await kv.commit(
        [
          { prefix: `${p}pools/`, notModifiedAfter: now },
          { key: `${p}pools/b`, modRevision: r2 },
        ],
        [],
      );
      expect(afterDelete.succeeded).toBe(false);
      await errorOf(kv.commit([{ prefix: p, notModifiedAfter: "x" }], []), InvalidRequestError);
    });

    it("expires keys written with a TTL", async () => {
      const p = fresh("ttl");
      await kv.put(`${p}lasting`, "stays");
      await kv.create(`${p}brief`, "goes", { ttlSeconds: 1 });
      const w = collectWatch(kv, p, (await kv.list(p)).revision);
      expect((await kv.get(`${p}brief`))?.value).toBe("goes");
      await eventually(async () => expect(await kv.get(`${p}brief`)).toBeUndefined(), 8_000);
      await eventually(() => expect(w.events).toMatchObject([{ type: "delete", key: `${p}brief` }]));
      expect((await kv.get(`${p}lasting`))?.value).toBe("stays");
      await w.close();
    });
  });
}
