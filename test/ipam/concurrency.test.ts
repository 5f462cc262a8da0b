import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeBlock, ordinalsForHandle, validateBlock } from "../../src/ipam/block.js";
import type { IPAMClient } from "../../src/ipam/client.js";
import { cidrContainsIP, parseCIDR, parseIP } from "../../src/lib/net.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { addr, ClientFactory, FakeInventory } from "./support.js";

const HOSTS = 8;
const PER_HOST = 50;
const POOL = "10.80.0.0/16";

let etcd: EtcdServer;
let factory: ClientFactory;

beforeAll(async () => {
  etcd = await startEtcd();
  factory = new ClientFactory(etcd.endpoint);
});

afterAll(async () => {
  await factory.closeAll();
  await etcd.stop();
});

describe("concurrent allocation from many hosts", () => {
  it(`${HOSTS} hosts x ${PER_HOST} parallel AutoAssigns: unique, affine, consistent, fully releasable`, async () => {
    const inv = new FakeInventory().addPool("pool", { cidr: POOL });
    const hosts = Array.from({ length: HOSTS }, (_, i) => `host-${i}`);
    for (const h of hosts) inv.addNode(h);
    const clients = new Map<string, IPAMClient>(hosts.map((h) => [h, factory.client(inv, { host: h })]));

    const jobs = hosts.flatMap((host) =>
      Array.from({ length: PER_HOST }, (_, i) => ({ host, handle: `k8s-pod-network.${host}-${i}` })),
    );
    const results = await Promise.all(
      jobs.map(async (j) => {
        const res = await clients
          .get(j.host)!
          .autoAssign({ handleId: j.handle, attrs: { node: j.host }, num4: 1 });
        return { ...j, ips: res.ipv4.ips };
      }),
    );

    const all = results.flatMap((r) => r.ips.map(addr));
    expect(all).toHaveLength(HOSTS * PER_HOST);
    expect(new Set(all).size).toBe(all.length);
    const pool = parseCIDR(POOL)!;
    for (const ip of all) expect(cidrContainsIP(pool, parseIP(ip)!)).toBe(true);

    // Every allocation sits in a block affine to the host that asked (the pool never ran out).
    const kv = factory.kv();
    const blocks = (await kv.list("/calico/ipam/v2/assignment/")).kvs.map((k) => decodeBlock(k.value));
    const now = new Date();
    for (const b of blocks) expect(validateBlock(b, now)).toEqual([]);
    const byIP = new Map<string, string | null>();
    for (const b of blocks) {
      b.allocations.forEach((idx, ord) => {
        if (idx === null) return;
        byIP.set(`${b.cidr.address + BigInt(ord)}`, b.affinity);
      });
    }
    for (const r of results) {
      const v = parseIP(addr(r.ips[0]!))!.value;
      expect(byIP.get(`${v}`)).toBe(`host:${r.host}`);
    }
    // Each host needed exactly one /26 for 50 addresses.
    for (const h of hosts) {
      expect((await kv.list(`/calico/ipam/v2/host/${h}/ipv4/block/`)).kvs).toHaveLength(1);
    }

    // Handles agree with blocks: each handle holds one address in the block that has it.
    const handles = (await kv.list("/calico/ipam/v2/handle/")).kvs;
    expect(handles).toHaveLength(jobs.length);
    for (const h of handles) {
      const id = h.key.slice("/calico/ipam/v2/handle/".length);
      const counts = (JSON.parse(h.value) as { block: Record<string, number> }).block;
      expect(Object.values(counts)).toEqual([1]);
      const [cidrText] = Object.keys(counts);
      const block = blocks.find((b) => `${b.cidr.address}` === `${parseCIDR(cidrText!)!.address}`)!;
      expect(ordinalsForHandle(block, id)).toHaveLength(1);
    }

    // Release everything in parallel, then give the blocks back.
    await Promise.all(results.map((r) => clients.get(r.host)!.releaseByHandle(r.handle)));
    expect((await kv.list("/calico/ipam/v2/handle/")).kvs).toHaveLength(0);
    for (const k of (await kv.list("/calico/ipam/v2/assignment/")).kvs) {
      expect(decodeBlock(k.value).allocations.every((a) => a === null)).toBe(true);
    }
    await Promise.all(hosts.map((h) => clients.get(h)!.releaseHostAffinities(h, true)));
    expect((await kv.list("/calico/ipam/")).kvs).toHaveLength(0);
  }, 120_000);
});
