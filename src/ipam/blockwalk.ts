/**
 * The order in which a host visits a pool's block CIDRs when looking for a block to claim or to
 * borrow from: a pseudo-random starting block derived from the host name, then every block in
 * turn, wrapping once. The same host always starts at the same place and different hosts spread
 * out, so concurrent claims rarely collide. Pools of single-address blocks seed from the clock
 * instead, because a per-host start would make every allocation on a host contend for one block.
 */
import { type CIDR, familyBits, networkAddress } from "../lib/net.js";
import { mulberry32 } from "../lib/prng.js";
import type { IPPoolInfo } from "./pools.js";

/** 32-bit FNV-1 of the UTF-8 bytes of `text`. */
export function fnv1Hash32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ byte) >>> 0;
  }
  return h;
}

export function blockCount(pool: IPPoolInfo): bigint {
  return 1n << BigInt(pool.blockSize - pool.cidr.prefix);
}

function hostBits(pool: IPPoolInfo): bigint {
  return BigInt(familyBits(pool.cidr.family) - pool.blockSize);
}

export function blockAt(pool: IPPoolInfo, index: bigint): CIDR {
  return {
    family: pool.cidr.family,
    address: networkAddress(pool.cidr) + (index << hostBits(pool)),
    prefix: pool.blockSize,
  };
}

export function blockIndexOfAddress(pool: IPPoolInfo, address: bigint): bigint {
  return (address - networkAddress(pool.cidr)) >> hostBits(pool);
}

/** The walk's first block index for this host (or for this moment, for single-address blocks). */
export function startIndex(pool: IPPoolInfo, host: string, now: Date): bigint {
  const n = blockCount(pool);
  const singleAddress = pool.blockSize === familyBits(pool.cidr.family);
  const next = mulberry32(singleAddress ? now.getTime() >>> 0 : fnv1Hash32(host));
  // Enough random bits to cover the block count, even for IPv6 pools with 2^74 blocks.
  let r = 0n;
  for (let bits = 0n; 1n << bits < n; bits += 32n) r = (r << 32n) | BigInt(next());
  return r % n;
}

/** Visits each block CIDR of a pool once, from `start`, wrapping around. */
export class BlockWalk {
  readonly #n: bigint;
  #step = 0n;

  constructor(
    readonly pool: IPPoolInfo,
    readonly start: bigint,
  ) {
    this.#n = blockCount(pool);
  }

  #index(): bigint {
    return (this.start + this.#step) % this.#n;
  }

  next(): CIDR | undefined {
    if (this.#step >= this.#n) return undefined;
    const cidr = blockAt(this.pool, this.#index());
    this.#step++;
    return cidr;
  }

  /**
   * After visiting a block inside a reserved range ending at `lastAddress`, skips the rest of the
   * range (up to the pool's end; the walk's wrap point is respected because steps only grow).
   */
  skipThrough(lastAddress: bigint): void {
    const current = this.#index() === 0n ? this.#n - 1n : this.#index() - 1n;
    let last = blockIndexOfAddress(this.pool, lastAddress);
    if (last >= this.#n) last = this.#n - 1n;
    if (last > current) this.#step += last - current;
  }
}

/** Sorts block CIDRs of a pool into the walk's visiting order. */
export function walkOrder<T>(pool: IPPoolInfo, start: bigint, items: T[], cidrOf: (t: T) => CIDR): T[] {
  const n = blockCount(pool);
  const pos = (t: T) => (blockIndexOfAddress(pool, networkAddress(cidrOf(t))) - start + n) % n;
  return [...items].sort((a, b) => {
    const d = pos(a) - pos(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
}
