/**
 * IPAMStore.blockIndex, which a claim's search for a usable block reads: every block, each
 * decoded only when looked up, with an undecodable block treated as absent (as listBlocks skips
 * it), and the same answers listBlocks gives.
 */
import { describe, expect, it } from "vitest";
import { MemoryKV } from "../../src/datastore/memory/memory-kv.js";
import { decodeBlock, encodeBlock, newBlock } from "../../src/ipam/block.js";
import { BLOCK_PREFIX, blockKey } from "../../src/ipam/keys.js";
import { BlockIndex, IPAMStore } from "../../src/ipam/store.js";
import { type CIDR, parseCIDR } from "../../src/lib/net.js";

const cidr = (text: string): CIDR => parseCIDR(text)!;
const now = new Date("2026-12-04T12:00:00Z");

async function storeWithBlocks(): Promise<MemoryKV> {
  const kv = new MemoryKV();
  for (const [text, host] of [
    ["10.0.0.0/26", "node-a"],
    ["10.0.0.64/26", "node-b"],
  ] as const) {
    const b = newBlock(cidr(text), `host:${host}`, now, 1n);
    await kv.create(blockKey(b.cidr), encodeBlock(b));
  }
  await kv.create(blockKey(cidr("10.0.0.128/26")), "{not json");
  return kv;
}

describe("IPAMStore.blockIndex", () => {
  it("finds each block by CIDR as listBlocks does, an undecodable one as absent", async () => {
    const store = new IPAMStore(await storeWithBlocks());
    const index = await store.blockIndex();
    const listed = await store.listBlocks();
    expect(listed).toHaveLength(2);
    for (const b of listed) expect(index.get(b.value.cidr)).toEqual(b);
    expect(index.get(cidr("10.0.0.128/26"))).toBeUndefined();
    expect(index.get(cidr("10.0.0.192/26"))).toBeUndefined();
  });

  it("decodes a block only when it is looked up, and only once", async () => {
    const kv = await storeWithBlocks();
    const { kvs } = await kv.list(BLOCK_PREFIX);
    const decoded: string[] = [];
    const index = new BlockIndex(kvs, (text) => {
      const b = decodeBlock(text);
      decoded.push(b.affinity ?? "");
      return b;
    });
    expect(decoded).toEqual([]);
    const first = index.get(cidr("10.0.0.64/26"));
    expect(first?.value.affinity).toBe("host:node-b");
    expect(index.get(cidr("10.0.0.64/26"))).toBe(first);
    expect(decoded).toEqual(["host:node-b"]);
  });
});
