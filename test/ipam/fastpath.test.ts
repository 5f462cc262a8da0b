/**
 * The IPAM fast path (hinted affine block: one batched read, one transaction): how many round
 * trips the common allocation and release take, that every unusual state falls back to the
 * general path with the same outcome, and that many hosts allocating at once on a real etcd
 * (through the JSON-gateway client the CNI uses) never hand out an address twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { EtcdHttpKV } from "../../src/datastore/etcd-http/index.js";
import { EtcdKV } from "../../src/datastore/index.js";
import type { KVStore } from "../../src/datastore/kv.js";
import { MemoryKV } from "../../src/datastore/memory/memory-kv.js";
import { CalicoResourceStore } from "../../src/datastore/resources/store.js";
import { encodeAffinity } from "../../src/ipam/affinity.js";
import { decodeBlock, ordinalsForHandle, validateBlock } from "../../src/ipam/block.js";
import { IPAMClient } from "../../src/ipam/client.js";
import { decodeHandle } from "../../src/ipam/handle.js";
import { MemoryHints } from "../../src/ipam/hints.js";
import { BLOCK_PREFIX, HANDLE_PREFIX } from "../../src/ipam/keys.js";
import { cidrContainsIP, formatCIDR, parseCIDR, parseIP } from "../../src/lib/net.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { addr } from "./support.js";

const res = (kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>) =>
  ({
    apiVersion: "projectcalico.org/v3",
    kind,
    metadata: { name, ...(labels ? { labels } : {}) },
    spec,
  }) as Resource;

/** Counts the KV calls made through it, by method. */
function counting(kv: KVStore): { kv: KVStore; calls: Map<string, number>; reset(): void } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(kv, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kv: proxy, calls, reset: () => calls.clear() };
}

async function memoryCluster(
  pools: Resource[] = [res("IPPool", "p", { cidr: "10.70.0.0/24", blockSize: 29 })],
) {
  const counted = counting(new MemoryKV());
  const store = new CalicoResourceStore(counted.kv);
  for (const p of pools) await store.create(p);
  await store.create(res("Node", "node-a", {}, { zone: "a" }));
  await store.create(res("Node", "node-b", {}));
  const ipam = IPAMClient.fromResourceStore(store, { defaultHostname: "node-a" });
  return { ...counted, store, ipam };
}

/** The stored block a hint (`a.b.c.d/nn`) names. */
async function blockAt(kv: KVStore, cidr: string) {
  const stored = await kv.get(`${BLOCK_PREFIX}ipv4/block/${cidr.replace("/", "-")}`);
  return decodeBlock(stored!.value);
}

const roundTrips = (calls: Map<string, number>) => [...calls.values()].reduce((a, b) => a + b, 0);

describe("IPAM fast path (MemoryKV)", () => {
  it("after the first allocation, AutoAssign is one batched read and one commit", async () => {
    const c = await memoryCluster();
    const hints = new MemoryHints();
    const first = await c.ipam.autoAssign({ handleId: "h1", num4: 1 }, { hints });
    const hinted = hints.get("node-a", 4)!;
    expect(hinted).toMatch(/^10\.70\.0\.\d+\/29$/);
    expect(first.ipv4.ips[0]!.startsWith(hinted.replace(/\d+\/29$/, ""))).toBe(true);
    c.reset();
    const second = await c.ipam.autoAssign({ handleId: "h2", attrs: { pod: "p2" }, num4: 1 }, { hints });
    expect(Object.fromEntries(c.calls)).toEqual({ readMany: 1, commit: 1 });
    expect(second.ipv4.ips).toHaveLength(1);
    expect(second.ipv4.ips[0]).toMatch(/^10\.70\.0\.\d+\/29$/);
    expect(second.ipv4.ips[0]).not.toBe(first.ipv4.ips[0]);
    // What the general path would have stored: the handle's count and the attributes.
    expect(await c.ipam.ipsByHandle("h2")).toEqual([addr(second.ipv4.ips[0]!)]);
    const attrs = await c.ipam.getAssignmentAttributes(addr(second.ipv4.ips[0]!));
    expect(attrs).toMatchObject({ handleId: "h2", attrs: { pod: "p2" } });
    const block = await blockAt(c.kv, hinted);
    expect(validateBlock(block, new Date())).toEqual([]);
    expect(ordinalsForHandle(block, "h2")).toHaveLength(1);
  });

  it("releases both handle forms in one read and one commit, leaving the block empty", async () => {
    const c = await memoryCluster();
    const hints = new MemoryHints();
    await c.ipam.autoAssign({ handleId: "net.ctr1", num4: 1 }, { hints });
    const { ipv4 } = await c.ipam.autoAssign({ handleId: "net.ctr2", num4: 1 }, { hints });
    c.reset();
    const released = await c.ipam.releaseHandles(["net.ctr2", "ctr2"], { hints, hostname: "node-a" });
    expect(Object.fromEntries(c.calls)).toEqual({ readMany: 1, commit: 1 });
    expect(released.get("net.ctr2")).toEqual([addr(ipv4.ips[0]!)]);
    expect(released.get("ctr2")).toBeUndefined();
    expect(await c.kv.get(`${HANDLE_PREFIX}net.ctr2`)).toBeUndefined();
    const block = await blockAt(c.kv, hints.get("node-a", 4)!);
    expect(ordinalsForHandle(block, "net.ctr2")).toEqual([]);
    expect(ordinalsForHandle(block, "net.ctr1")).toHaveLength(1);
    // Releasing handles that do not exist is one read and nothing else.
    c.reset();
    const none = await c.ipam.releaseHandles(["net.gone"], { hints, hostname: "node-a" });
    expect(none.get("net.gone")).toBeUndefined();
    expect(roundTrips(c.calls)).toBe(1);
  });

  it("dual-stack: both families in the same read and commit", async () => {
    const c = await memoryCluster([
      res("IPPool", "v4", { cidr: "10.71.0.0/24", blockSize: 28 }),
      res("IPPool", "v6", { cidr: "fd71::/120", blockSize: 124 }),
    ]);
    const hints = new MemoryHints();
    await c.ipam.autoAssign({ handleId: "a", num4: 1, num6: 1 }, { hints });
    c.reset();
    const r = await c.ipam.autoAssign({ handleId: "b", num4: 1, num6: 1 }, { hints });
    expect(roundTrips(c.calls)).toBe(2);
    expect(r.ipv4.ips[0]).toMatch(/^10\.71\.0\.\d+\/28$/);
    expect(r.ipv6.ips[0]).toMatch(/^fd71::[0-9a-f]+\/124$/);
    expect((await c.ipam.ipsByHandle("b")).sort()).toEqual(
      [addr(r.ipv4.ips[0]!), addr(r.ipv6.ips[0]!)].sort(),
    );
  });

  it("falls back to the general path when the hinted block is full, and re-hints", async () => {
    const c = await memoryCluster();
    const hints = new MemoryHints();
    const got: string[] = [];
    // A /29 holds 8: the ninth allocation needs a new block.
    for (let i = 0; i < 10; i++) {
      got.push(...(await c.ipam.autoAssign({ handleId: `h${i}`, num4: 1 }, { hints })).ipv4.ips.map(addr));
    }
    expect(new Set(got).size).toBe(10);
    // The hint moved to the second block, the one the last two addresses came from.
    const second = hints.get("node-a", 4)!;
    expect((await blockAt(c.kv, second)).allocations.filter((x) => x !== null)).toHaveLength(2);
    // The fast path wrote the second block last and has a view of the rest: one transaction.
    c.reset();
    await c.ipam.autoAssign({ handleId: "h10", num4: 1 }, { hints });
    expect(Object.fromEntries(c.calls)).toEqual({ commit: 1 });
  });

  it("ignores a hint that is not this host's block, or outside the requested pools", async () => {
    const c = await memoryCluster([
      res("IPPool", "p", { cidr: "10.70.0.0/24", blockSize: 29 }),
      res("IPPool", "q", { cidr: "10.72.0.0/24", blockSize: 29 }),
    ]);
    const hintsB = new MemoryHints();
    const b = await c.ipam.autoAssign(
      { handleId: "b0", num4: 1, hostname: "node-b", ipv4Pools: ["10.70.0.0/24"] },
      { hints: hintsB },
    );
    // node-a is pointed at node-b's block: it must not allocate there.
    const misled = new MemoryHints();
    misled.set("node-a", 4, hintsB.get("node-b", 4));
    const a = await c.ipam.autoAssign(
      { handleId: "a0", num4: 1, ipv4Pools: ["10.70.0.0/24"] },
      { hints: misled },
    );
    expect(a.ipv4.ips[0]).not.toBe(b.ipv4.ips[0]);
    const blocks = (await c.kv.list(BLOCK_PREFIX)).kvs.map((k) => decodeBlock(k.value));
    const aBlock = blocks.find((bl) => bl.affinity === "host:node-a")!;
    expect(aBlock.allocations.filter((x) => x !== null)).toHaveLength(1);
    const bBlock = blocks.find((bl) => bl.affinity === "host:node-b")!;
    expect(bBlock.allocations.filter((x) => x !== null)).toHaveLength(1);
    // ...and the hint now names node-a's own block.
    expect(misled.get("node-a", 4)).toBe(formatCIDR(aBlock.cidr));
    // A request restricted to another pool ignores a hint into the first one.
    const q = await c.ipam.autoAssign(
      { handleId: "a1", num4: 1, ipv4Pools: ["10.72.0.0/24"] },
      { hints: misled },
    );
    expect(q.ipv4.ips[0]).toMatch(/^10\.72\.0\./);
  });

  it("does not read back a block it wrote itself, then allocates in one transaction; another writer's change is caught by the guards", async () => {
    const c = await memoryCluster();
    const reads: string[][] = [];
    // Wraps the counting wrapper, so c.calls counts each read twice: `reads` is the count.
    const readMany = c.kv.readMany.bind(c.kv);
    c.kv.readMany = (r) => {
      reads.push(r.flatMap((x) => ("key" in x ? [x.key] : [])));
      return readMany(r);
    };
    const commits = () => c.calls.get("commit") ?? 0;
    const hints = new MemoryHints();
    const got = [await c.ipam.autoAssign({ handleId: "w0", num4: 1 }, { hints })];
    const key = `${BLOCK_PREFIX}ipv4/block/${hints.get("node-a", 4)!.replace("/", "-")}`;
    // The first fast allocation reads the block and everything else...
    reads.length = 0;
    c.reset();
    got.push(await c.ipam.autoAssign({ handleId: "w1", num4: 1 }, { hints }));
    expect(reads.map((keys) => keys.includes(key))).toEqual([true]);
    expect(commits()).toBe(1);
    // ...the next is one transaction guarded on what the first read and wrote.
    reads.length = 0;
    c.reset();
    got.push(await c.ipam.autoAssign({ handleId: "w2", num4: 1 }, { hints }));
    expect(reads).toEqual([]);
    expect(commits()).toBe(1);
    // Another client (another process on this host) allocates from the same block meanwhile.
    const other = IPAMClient.fromResourceStore(c.store, { defaultHostname: "node-a" });
    const otherHints = new MemoryHints();
    otherHints.set("node-a", 4, hints.get("node-a", 4));
    got.push(await other.autoAssign({ handleId: "o1", num4: 1 }, { hints: otherHints }));
    // The guarded transaction fails and reads the current state; a second one allocates.
    reads.length = 0;
    c.reset();
    got.push(await c.ipam.autoAssign({ handleId: "w3", num4: 1 }, { hints }));
    expect(reads).toEqual([]);
    expect(commits()).toBe(2);
    const ips = got.map((r) => addr(r.ipv4.ips[0]!));
    expect(new Set(ips).size).toBe(ips.length);
    const block = await blockAt(c.kv, hints.get("node-a", 4)!);
    expect(validateBlock(block, new Date())).toEqual([]);
    for (const h of ["w0", "w1", "w2", "o1", "w3"]) {
      expect(ordinalsForHandle(block, h)).toHaveLength(1);
      expect(await c.ipam.ipsByHandle(h)).toHaveLength(1);
    }
    // An existing handle (a repeated ADD) is guarded absent: caught, re-read, counted right.
    const again = await c.ipam.autoAssign({ handleId: "w3", num4: 1 }, { hints });
    expect((await c.ipam.ipsByHandle("w3")).sort()).toEqual(
      [addr(got[4]!.ipv4.ips[0]!), addr(again.ipv4.ips[0]!)].sort(),
    );
  });

  it("one-transaction allocations see pool and reservation changes made since the view", async () => {
    const c = await memoryCluster([
      res("IPPool", "p", { cidr: "10.70.0.0/24", blockSize: 29 }),
      res("IPPool", "q", { cidr: "10.72.0.0/24", blockSize: 29 }),
    ]);
    const hints = new MemoryHints();
    const req = (handleId: string) => ({ handleId, num4: 1, ipv4Pools: ["10.70.0.0/24"] });
    for (const h of ["v0", "v1", "v2"]) await c.ipam.autoAssign(req(h), { hints });
    const block = hints.get("node-a", 4)!;
    // A reservation created since the view covers the whole block: nothing more comes from it.
    await c.store.create(res("IPReservation", "all-of-it", { reservedCIDRs: [block] }));
    const next = await c.ipam.autoAssign(req("v3"), { hints });
    expect(cidrContainsIP(parseCIDR(block)!, parseIP(addr(next.ipv4.ips[0]!))!)).toBe(false);
    // A pool changed since the view (disabled): the next allocation comes from elsewhere.
    const pool = await c.store.get({ kind: "IPPool", name: "p" });
    await c.store.update({ ...pool, spec: { ...pool.spec, disabled: true } });
    const anyPool = await c.ipam.autoAssign({ handleId: "v4", num4: 1 }, { hints });
    expect(anyPool.ipv4.ips[0]).toMatch(/^10\.72\.0\./);
  });

  it("a sibling withdrawing its pending affinity between our read and our write is a conflict, not an error", async () => {
    const kv = new MemoryKV();
    let raced: string | undefined;
    // The first claim finds a sibling's pending affinity, which the sibling deletes right after
    // our read of it (it lost the block): our update then finds no key.
    const racing = new Proxy(kv, {
      get(target, prop, receiver) {
        if (prop === "create")
          return async (key: string, value: string) => {
            if (raced === undefined && key.startsWith("/calico/ipam/v2/host/node-a/")) {
              raced = key;
              await target.create(key, encodeAffinity("pending"));
            }
            return target.create(key, value);
          };
        if (prop === "get")
          return async (key: string) => {
            const found = await target.get(key);
            if (key === raced && found) await target.delete(key);
            return found;
          };
        return Reflect.get(target, prop, receiver);
      },
    });
    const store = new CalicoResourceStore(racing);
    await store.create(res("IPPool", "p", { cidr: "10.70.0.0/24", blockSize: 29 }));
    await store.create(res("Node", "node-a", {}));
    const ipam = IPAMClient.fromResourceStore(store, { defaultHostname: "node-a" });
    const r = await ipam.autoAssign({ handleId: "c0", num4: 1 });
    expect(raced).toBeDefined();
    expect(await ipam.ipsByHandle("c0")).toEqual([addr(r.ipv4.ips[0]!)]);
  });

  it("a released affinity or a stale handle revision makes it fall back, never double-allocate", async () => {
    const c = await memoryCluster();
    const hints = new MemoryHints();
    const first = await c.ipam.autoAssign({ handleId: "x0", num4: 1 }, { hints });
    await c.ipam.releaseHandles(["x0"], { hints, hostname: "node-a" });
    await c.ipam.releaseAffinity(hints.get("node-a", 4)!, "node-a", true);
    // The hint now names a block that is no longer ours (it is gone): general path, new claim.
    const again = await c.ipam.autoAssign({ handleId: "x1", num4: 1 }, { hints });
    expect(again.ipv4.ips).toHaveLength(1);
    expect(await c.ipam.ipsByHandle("x1")).toEqual([addr(again.ipv4.ips[0]!)]);
    expect(first.ipv4.ips).toHaveLength(1);
  });
});

describe("IPAM fast path on real etcd: 8 hosts at once", () => {
  let etcd: EtcdServer;
  const kvs: KVStore[] = [];
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await Promise.all(kvs.map((kv) => kv.close()));
    await etcd.stop();
  });

  it("over gRPC, allocations and releases interleaved: one-transaction allocations never collide", async () => {
    const HOSTS = 8;
    const PER_LANE = 16;
    const LANES = 2;
    const open = () => {
      const kv = new EtcdKV({ endpoints: [etcd.endpoint] });
      kvs.push(kv);
      return new CalicoResourceStore(kv);
    };
    const admin = open();
    await admin.create(res("IPPool", "pool-grpc", { cidr: "10.91.0.0/20", blockSize: 28 }));
    const hosts = Array.from({ length: HOSTS }, (_, i) => `grpc-host-${i}`);
    for (const h of hosts) await admin.create(res("Node", h, {}));
    // Every third allocation is released at once by the same client, so the blocks it keeps in
    // memory are rewritten by releases as well as allocations, by both lanes.
    const kept = await Promise.all(
      hosts.map(async (host) => {
        const ipam = IPAMClient.fromResourceStore(open(), { defaultHostname: host });
        const hints = new MemoryHints();
        const lanes = await Promise.all(
          Array.from({ length: LANES }, async (_, lane) => {
            const out = new Map<string, string>();
            for (let i = 0; i < PER_LANE; i++) {
              const handle = `grpc.${host}-${lane}-${i}`;
              const r = await ipam.autoAssign({ handleId: handle, num4: 1 }, { hints });
              const ip = addr(r.ipv4.ips[0]!);
              if (i % 3 === 2) {
                const released = await ipam.releaseHandles([handle], { hints, hostname: host });
                expect(released.get(handle)).toEqual([ip]);
              } else {
                out.set(handle, ip);
              }
            }
            return [...out];
          }),
        );
        return lanes.flat().map(([handle, ip]) => ({ host, handle, ip }));
      }),
    );
    const all = kept.flat();
    expect(new Set(all.map((a) => a.ip)).size).toBe(all.length);
    const blocks = (await admin.kv.list("/calico/ipam/v2/assignment/ipv4/block/10.91.")).kvs.map((k) =>
      decodeBlock(k.value),
    );
    for (const b of blocks) expect(validateBlock(b, new Date())).toEqual([]);
    for (const { host, handle, ip } of all) {
      const holding = blocks.filter((b) => ordinalsForHandle(b, handle).length > 0);
      expect(holding).toHaveLength(1);
      expect(holding[0]!.affinity).toBe(`host:${host}`);
      const stored = await admin.kv.get(`${HANDLE_PREFIX}${handle}`);
      expect(Object.values(decodeHandle(stored!.value).block)).toEqual([1]);
      expect(ip.startsWith("10.91.")).toBe(true);
    }
    const live = blocks.reduce((n, b) => n + b.allocations.filter((a) => a !== null).length, 0);
    // Released addresses may still be cooling down; nothing else is allocated.
    expect(live).toBeGreaterThanOrEqual(all.length);
    const handles = (await admin.kv.list(HANDLE_PREFIX)).kvs.filter((k) => k.key.includes("grpc."));
    expect(handles).toHaveLength(all.length);
    // Everything left is releasable, by any client of the host.
    for (const { host, handle, ip } of all) {
      const ipam = IPAMClient.fromResourceStore(admin, { defaultHostname: host });
      expect((await ipam.releaseHandles([handle])).get(handle)).toEqual([ip]);
    }
    expect((await admin.kv.list(HANDLE_PREFIX)).kvs).toEqual([]);
  }, 120_000);

  it("no duplicates, every address affine to its host and counted by its handle; all releasable", async () => {
    const HOSTS = 8;
    const PER_LANE = 25;
    const LANES = 3;
    const open = () => {
      const kv = new EtcdHttpKV({ endpoints: [etcd.endpoint] });
      kvs.push(kv);
      return new CalicoResourceStore(kv);
    };
    const admin = open();
    // Small blocks so that hosts fill blocks and claim new ones while the others race them.
    await admin.create(res("IPPool", "pool", { cidr: "10.90.0.0/20", blockSize: 28 }));
    const hosts = Array.from({ length: HOSTS }, (_, i) => `host-${i}`);
    for (const h of hosts) await admin.create(res("Node", h, {}));
    // Each host: its own connection and hints; LANES requests in flight at once (no host lock),
    // so fast-path commits on one host conflict with each other and must fall back.
    const results = await Promise.all(
      hosts.map(async (host) => {
        const ipam = IPAMClient.fromResourceStore(open(), { defaultHostname: host });
        const hints = new MemoryHints();
        const lanes = await Promise.all(
          Array.from({ length: LANES }, async (_, lane) => {
            const out: { handle: string; ip: string }[] = [];
            for (let i = 0; i < PER_LANE; i++) {
              const handle = `net.${host}-${lane}-${i}`;
              const r = await ipam.autoAssign({ handleId: handle, num4: 1 }, { hints });
              out.push({ handle, ip: addr(r.ipv4.ips[0]!) });
            }
            return out;
          }),
        );
        return { host, ipam, hints, allocations: lanes.flat() };
      }),
    );
    const all = results.flatMap((r) => r.allocations.map((a) => a.ip));
    expect(all).toHaveLength(HOSTS * LANES * PER_LANE);
    expect(new Set(all).size).toBe(all.length);

    const blocks = (await admin.kv.list(BLOCK_PREFIX)).kvs.map((k) => decodeBlock(k.value));
    const now = new Date();
    for (const b of blocks) expect(validateBlock(b, now)).toEqual([]);
    const handles = new Map(
      (await admin.kv.list(HANDLE_PREFIX)).kvs.map((k) => [
        k.key.slice(HANDLE_PREFIX.length),
        decodeHandle(k.value),
      ]),
    );
    for (const { host, allocations } of results) {
      for (const { handle, ip } of allocations) {
        const block = blocks.find((b) => ordinalsForHandle(b, handle).length > 0)!;
        expect(block.affinity).toBe(`host:${host}`);
        expect(ordinalsForHandle(block, handle)).toHaveLength(1);
        expect(Object.values(handles.get(handle)!.block)).toEqual([1]);
        expect(blocks.filter((b) => ordinalsForHandle(b, handle).length > 0)).toHaveLength(1);
        expect(ip.startsWith("10.90.")).toBe(true);
      }
    }

    await Promise.all(
      results.map(async ({ host, ipam, hints, allocations }) => {
        for (const { handle, ip } of allocations) {
          const released = await ipam.releaseHandles([handle], { hints, hostname: host });
          expect(released.get(handle)).toEqual([ip]);
        }
      }),
    );
    expect((await admin.kv.list(HANDLE_PREFIX)).kvs).toEqual([]);
    for (const k of (await admin.kv.list(BLOCK_PREFIX)).kvs) {
      expect(decodeBlock(k.value).allocations.every((a) => a === null)).toBe(true);
    }
  }, 120_000);
});
