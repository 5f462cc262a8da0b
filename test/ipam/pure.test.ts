import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBigJson, stringifyBigJson } from "../../src/ipam/bigjson.js";
import {
  allocateFromBlock,
  assignOrdinal,
  decodeBlock,
  encodeBlock,
  garbageCollect,
  ipToOrdinal,
  isEmpty,
  newBlock,
  ordinalsForHandle,
  ordinalToCIDRText,
  releaseOrdinals,
  validateBlock,
} from "../../src/ipam/block.js";
import { BlockWalk, fnv1Hash32, startIndex, walkOrder } from "../../src/ipam/blockwalk.js";
import {
  DEFAULT_IPAM_CONFIG,
  decodeIPAMConfig,
  effectiveBlockCap,
  encodeIPAMConfig,
  validateIPAMConfig,
} from "../../src/ipam/config.js";
import { AddressInUseError, AffinityMismatchError } from "../../src/ipam/errors.js";
import { decodeHandle, decrementHandle, encodeHandle, incrementHandle } from "../../src/ipam/handle.js";
import { affinityKey, blockKey, hostOwner, parseAffinityKey, parseBlockKey } from "../../src/ipam/keys.js";
import { determinePools, poolsFromResources } from "../../src/ipam/pools.js";
import { Reservations } from "../../src/ipam/reservations.js";
import { parseCIDR, parseIP } from "../../src/lib/net.js";

const cidr = (t: string) => parseCIDR(t)!;
const now = new Date("2026-11-22T10:00:00Z");

describe("big-integer JSON", () => {
  it("keeps 64-bit sequence numbers exact through parse and stringify", () => {
    const text = '{"sequenceNumber":1763805600000000012,"m":{"0":18446744073709551615},"small":3,"f":1.5}';
    const v = parseBigJson(text) as Record<string, unknown>;
    expect(v.sequenceNumber).toBe(1763805600000000012n);
    expect((v.m as Record<string, unknown>)["0"]).toBe(18446744073709551615n);
    expect(v.small).toBe(3);
    expect(stringifyBigJson(v)).toBe(text);
  });

  it("parses strings with escapes and rejects junk", () => {
    expect(parseBigJson('["a\\"b\\u00e9", true, null, -0.5e2]')).toEqual(['a"bé', true, null, -50]);
    expect(() => parseBigJson("{")).toThrow();
    expect(() => parseBigJson("[1] x")).toThrow();
  });

  it("round-trips arbitrary JSON values like JSON.parse for safe numbers", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        expect(stringifyBigJson(parseBigJson(text))).toBe(JSON.stringify(JSON.parse(text)));
      }),
    );
  });

  it("round-trips any uint64", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (n) => {
        expect(parseBigJson(stringifyBigJson({ n }))).toEqual({
          n: Number.isSafeInteger(Number(n)) ? Number(n) : n,
        });
      }),
    );
  });
});

describe("block model", () => {
  it("stores Calico's JSON with exact sequence numbers", () => {
    const b = newBlock(cidr("10.65.79.0/26"), "host:node-a", now, 1763805600000000000n);
    const ords = allocateFromBlock(b, { num: 2, handleId: "k8s-pod-network.abc", attrs: { node: "node-a" } });
    expect(ords).toEqual([0, 1]);
    b.sequenceNumber += 11n;
    releaseOrdinals(b, [1], now);
    const text = encodeBlock(b);
    expect(
      text.startsWith(
        '{"cidr":"10.65.79.0/26","affinity":"host:node-a","affinity_claim_time":"2026-11-22T10:00:00Z","allocations":[0,1,null',
      ),
    ).toBe(true);
    expect(text).toContain(
      '"attributes":[{"handle_id":"k8s-pod-network.abc","secondary":{"node":"node-a"}},{"releasedAt":"2026-11-22T10:00:00Z"}]',
    );
    expect(text).toContain(
      '"sequenceNumber":1763805600000000011,"sequenceNumberForAllocation":{"0":1763805600000000000,"1":1763805600000000011},"deleted":false}',
    );
    const back = decodeBlock(text);
    expect(back.sequenceNumber).toBe(1763805600000000011n);
    expect(encodeBlock(back)).toBe(text);
  });

  it("hands out the network address first and returns block-masked CIDRs", () => {
    const b = newBlock(cidr("10.65.79.0/26"), "host:a", now, 1n);
    const [o] = allocateFromBlock(b, { num: 1 });
    expect(ordinalToCIDRText(b, o!)).toBe("10.65.79.0/26");
    expect(ipToOrdinal(b, parseIP("10.65.79.63")!)).toBe(63);
    expect(ipToOrdinal(b, parseIP("10.65.79.64")!)).toBeUndefined();
  });

  it("shares one attribute record per owner and skips reserved ordinals in place", () => {
    const b = newBlock(cidr("10.0.0.0/29"), "host:a", now, 1n);
    allocateFromBlock(b, { num: 1, handleId: "h", attrs: { node: "a" } });
    const got = allocateFromBlock(b, {
      num: 2,
      handleId: "h",
      attrs: { node: "a" },
      reserved: (o) => o === 1 || o === 2,
    });
    expect(got).toEqual([3, 4]);
    expect(b.attributes).toHaveLength(1);
    expect(b.unallocated).toEqual([1, 2, 5, 6, 7]);
  });

  it("released addresses go to the back of the queue (cooldown 0)", () => {
    const b = newBlock(cidr("10.0.0.0/29"), "host:a", now, 1n);
    allocateFromBlock(b, { num: 3, handleId: "h" });
    releaseOrdinals(b, [0], now);
    garbageCollect(b, 0, now);
    expect(b.unallocated).toEqual([3, 4, 5, 6, 7, 0]);
    expect(allocateFromBlock(b, { num: 1 })).toEqual([3]);
    expect(validateBlock(b, now)).toEqual([]);
  });

  it("keeps addresses in cooldown until it expires", () => {
    const b = newBlock(cidr("10.0.0.0/30"), "host:a", now, 1n);
    allocateFromBlock(b, { num: 1, handleId: "h" });
    releaseOrdinals(b, [0], now);
    expect(garbageCollect(b, 60, new Date(now.getTime() + 30_000))).toBe(false);
    expect(b.attributes).toEqual([{ releasedAt: "2026-11-22T10:00:00Z" }]);
    expect(b.allocations[0]).not.toBeNull();
    expect(isEmpty(b)).toBe(false);
    garbageCollect(b, 60, new Date(now.getTime() + 61_000));
    expect(b.allocations[0]).toBeNull();
    expect(b.attributes).toEqual([]);
    expect(isEmpty(b)).toBe(true);
  });

  it("enforces strict affinity and refuses double assignment", () => {
    const b = newBlock(cidr("10.0.0.0/30"), "host:a", now, 1n);
    expect(() => allocateFromBlock(b, { num: 1, affinityCheck: "host:b" })).toThrow(AffinityMismatchError);
    assignOrdinal(b, 2, { handleId: "x" });
    expect(() => assignOrdinal(b, 2, { handleId: "y" })).toThrow(AddressInUseError);
    expect(b.unallocated).toEqual([0, 1, 3]);
    expect(ordinalsForHandle(b, "x")).toEqual([2]);
  });

  it("reports invariant violations", () => {
    const b = newBlock(cidr("10.0.0.0/30"), null, now, 1n);
    b.allocations[1] = 0;
    expect(validateBlock(b, now).join("\n")).toMatch(/missing attribute|allocated|does not equal/);
  });

  it("property: any sequence of allocate/release/GC keeps the invariants and never double-allocates", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("alloc" as const),
        n: fc.integer({ min: 1, max: 5 }),
        h: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({
        kind: fc.constant("release" as const),
        ords: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 4 }),
      }),
      fc.record({ kind: fc.constant("gc" as const), cooldown: fc.constantFrom(0, 60) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const b = newBlock(cidr("10.0.0.0/28"), "host:a", now, 1n);
        const owner = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === "alloc") {
            const got = allocateFromBlock(b, { num: o.n, handleId: `h${o.h}` });
            for (const ord of got) {
              expect(owner.has(ord)).toBe(false);
              owner.set(ord, o.h);
            }
          } else if (o.kind === "release") {
            for (const ord of releaseOrdinals(b, o.ords, now)) owner.delete(ord);
          } else {
            garbageCollect(b, o.cooldown, now);
          }
          b.sequenceNumber++;
          expect(validateBlock(decodeBlock(encodeBlock(b)), now)).toEqual([]);
          for (const [ord, h] of owner) expect(ordinalsForHandle(b, `h${h}`)).toContain(ord);
        }
      }),
    );
  });
});

describe("keys", () => {
  it("build and parse Calico's IPAM keys", () => {
    expect(blockKey(cidr("10.65.79.0/26"))).toBe("/calico/ipam/v2/assignment/ipv4/block/10.65.79.0-26");
    expect(blockKey(cidr("fd00:1:0:0::/122"))).toBe("/calico/ipam/v2/assignment/ipv6/block/fd00:1::-122");
    const ak = affinityKey(hostOwner("node-a"), cidr("10.65.79.0/26"));
    expect(ak).toBe("/calico/ipam/v2/host/node-a/ipv4/block/10.65.79.0-26");
    expect(parseAffinityKey(ak)?.owner).toEqual({ type: "host", name: "node-a" });
    expect(parseBlockKey("/calico/ipam/v2/assignment/ipv6/block/fd00:1::-122")?.prefix).toBe(122);
  });
});

describe("handles and config", () => {
  it("counts per block and disappears at zero", () => {
    const h = decodeHandle('{"block":{"10.65.79.0/26":2},"deleted":false}');
    incrementHandle(h, "10.65.80.0/26", 1);
    expect(encodeHandle(h)).toBe('{"block":{"10.65.79.0/26":2,"10.65.80.0/26":1},"deleted":false}');
    expect(decrementHandle(h, "10.65.79.0/26", 2)).toBeUndefined();
    expect(decrementHandle(h, "10.65.80.0/26", 5)).toBeInstanceOf(Error);
    expect(h.block).toEqual({});
  });

  it("reads the v2 config key with omitempty semantics and checks writes", () => {
    expect(decodeIPAMConfig("{}").autoAllocateBlocks).toBe(false);
    const cfg = { ...DEFAULT_IPAM_CONFIG, strictAffinity: true, maxBlocksPerHost: 4 };
    expect(decodeIPAMConfig(encodeIPAMConfig(cfg))).toEqual(cfg);
    expect(() => validateIPAMConfig({ ...DEFAULT_IPAM_CONFIG, maxBlocksPerHost: 3 })).toThrow(
      /requires StrictAffinity/,
    );
    expect(() => validateIPAMConfig({ ...DEFAULT_IPAM_CONFIG, autoAllocateBlocks: false })).toThrow(
      /at the same time/,
    );
    expect(effectiveBlockCap(undefined, 0)).toBe(20);
    expect(effectiveBlockCap(5, 3)).toBe(3);
    expect(effectiveBlockCap(5, 0)).toBe(5);
  });
});

describe("reservations", () => {
  const res = new Reservations([
    cidr("10.0.0.0/27"),
    cidr("10.0.0.32/28"),
    cidr("10.0.0.48/28"),
    cidr("10.0.1.5/32"),
  ]);
  it("treats a block covered by the union of reservations as full", () => {
    expect(res.fullyReserved(cidr("10.0.0.0/26"))).toBe(true);
    expect(res.forBlock(cidr("10.0.0.0/26")).full).toBe(true);
    const partial = res.forBlock(cidr("10.0.1.0/26"));
    expect(partial.count).toBe(1);
    expect(partial.isReserved(5)).toBe(true);
    expect(partial.isReserved(6)).toBe(false);
  });
  it("counts nested reservations once", () => {
    const nested = new Reservations([cidr("10.0.0.0/24"), cidr("10.0.0.0/26")]);
    expect(nested.countIn(cidr("10.0.0.0/16"))).toBe(256n);
  });
});

describe("block walk", () => {
  const [pool] = poolsFromResources([
    {
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "p" },
      spec: { cidr: "10.65.0.0/24" },
    },
  ]);
  it("visits every block exactly once from a host-determined start", () => {
    const start = startIndex(pool!, "node-a", now);
    expect(startIndex(pool!, "node-a", new Date(0))).toBe(start);
    const walk = new BlockWalk(pool!, start);
    const seen: string[] = [];
    for (let c = walk.next(); c; c = walk.next()) seen.push(String(c.address));
    expect(new Set(seen).size).toBe(4);
    expect(seen).toHaveLength(4);
  });
  it("spreads hosts across start points", () => {
    const [big] = poolsFromResources([
      {
        apiVersion: "projectcalico.org/v3",
        kind: "IPPool",
        metadata: { name: "b" },
        spec: { cidr: "10.0.0.0/8" },
      },
    ]);
    const starts = new Set(Array.from({ length: 8 }, (_, i) => startIndex(big!, `node-${i}`, now)));
    expect(starts.size).toBe(8);
    expect(fnv1Hash32("")).toBe(0x811c9dc5);
  });
  it("orders existing blocks the way the walk visits them", () => {
    const cidrs = ["10.65.0.0/26", "10.65.0.64/26", "10.65.0.128/26", "10.65.0.192/26"].map(cidr);
    expect(walkOrder(pool!, 2n, cidrs, (c) => c).map((c) => c.address)).toEqual(
      [cidrs[2], cidrs[3], cidrs[0], cidrs[1]].map((c) => c!.address),
    );
  });
  it("skips through a large reserved range", () => {
    const walk = new BlockWalk(pool!, 0n);
    walk.next();
    walk.skipThrough(parseIP("10.65.0.191")!.value);
    expect(walk.next()?.address).toBe(parseIP("10.65.0.192")!.value);
  });
});

describe("pool selection", () => {
  const pools = poolsFromResources([
    {
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "b-zone-a" },
      spec: { cidr: "10.1.0.0/16", nodeSelector: "zone == 'a'" },
    },
    {
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "a-manual" },
      spec: { cidr: "10.2.0.0/16", assignmentMode: "Manual" },
    },
    {
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "c-off" },
      spec: { cidr: "10.3.0.0/16", disabled: true },
    },
    {
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "d-tunnel" },
      spec: { cidr: "10.4.0.0/16", allowedUses: ["Tunnel"] },
    },
  ]);
  const base = { pools, family: 4 as const, nodeName: "n1", use: "Workload" as const };
  it("applies nodeSelector, assignmentMode, disabled and allowedUses", () => {
    expect(determinePools({ ...base, nodeLabels: { zone: "a" } }).map((p) => p.name)).toEqual(["b-zone-a"]);
    expect(() => determinePools({ ...base, nodeLabels: { zone: "b" } })).toThrow(
      /cannot find a qualified ippool: no pools match/,
    );
    expect(determinePools({ ...base, nodeLabels: { zone: "b" }, use: "Tunnel" }).map((p) => p.name)).toEqual([
      "d-tunnel",
    ]);
  });
  it("requested pools bypass selectors and assignment mode but not enablement", () => {
    expect(
      determinePools({ ...base, nodeLabels: { zone: "b" }, requested: ["10.1.0.0/16", "10.2.0.0/16"] }).map(
        (p) => p.name,
      ),
    ).toEqual(["b-zone-a", "a-manual"]);
    expect(() => determinePools({ ...base, nodeLabels: {}, requested: ["10.3.0.0/16"] })).toThrow(
      "the given pool (10.3.0.0/16) does not exist, or is not enabled",
    );
  });
  it("reports no pools for a node no selector matches", () => {
    const only = poolsFromResources([
      {
        apiVersion: "projectcalico.org/v3",
        kind: "IPPool",
        metadata: { name: "z" },
        spec: { cidr: "10.1.0.0/16", nodeSelector: "zone == 'a'" },
      },
    ]);
    expect(() => determinePools({ ...base, pools: only, nodeLabels: { zone: "b" } })).toThrow(
      "no configured Calico pools for node n1",
    );
  });
});

describe("indented big-integer JSON", () => {
  it("matches JSON.stringify's indentation for ordinary values and keeps bigints bare", () => {
    const v = { a: [1, { b: "x" }], e: [], o: {}, n: null };
    expect(stringifyBigJson(v, "  ")).toBe(JSON.stringify(v, null, 2));
    expect(stringifyBigJson({ s: 18446744073709551615n }, "  ")).toBe('{\n  "s": 18446744073709551615\n}');
  });
});
