/**
 * Address utilisation per pool and per block, as `calicoctl ipam show` reports it. In-use
 * counts cooldown addresses (capacity minus free); reserved counts reserved addresses whether
 * allocated or not, so the columns may overlap.
 */
import { cidrContains, cidrSize, formatCIDR } from "../lib/net.js";
import { type AllocationBlock, blockSize, freeCount, inUseCount } from "./block.js";
import type { IPPoolInfo } from "./pools.js";
import type { Reservations } from "./reservations.js";

export const ORPHANED_BLOCKS = "orphaned allocation blocks";

export interface BlockUtilization {
  cidr: string;
  capacity: number;
  inUse: number;
  reserved: number;
  available: number;
}

export interface PoolUtilization {
  /** Pool name, or ORPHANED_BLOCKS for blocks in no pool. */
  name: string;
  /** Pool CIDR; empty for the orphan pseudo-pool. */
  cidr: string;
  capacity: bigint;
  inUse: bigint;
  reserved: bigint;
  available: bigint;
  blocks: BlockUtilization[];
}

export function blockUtilization(block: AllocationBlock, reservations: Reservations): BlockUtilization {
  const r = reservations.forBlock(block.cidr);
  return {
    cidr: formatCIDR(block.cidr),
    capacity: blockSize(block),
    inUse: inUseCount(block),
    reserved: r.count,
    available: freeCount(block, r.isReserved),
  };
}

export function computeUtilization(
  pools: readonly IPPoolInfo[],
  blocks: readonly AllocationBlock[],
  reservations: Reservations,
): PoolUtilization[] {
  const out: PoolUtilization[] = [];
  const claimed = new Set<AllocationBlock>();
  for (const pool of pools) {
    const mine = blocks.filter((b) => cidrContains(pool.cidr, b.cidr));
    for (const b of mine) claimed.add(b);
    const rows = mine.map((b) => blockUtilization(b, reservations));
    const poolReserved = reservations.countIn(pool.cidr);
    let inUse = 0n;
    let blockAvailable = 0n;
    let blockCapacity = 0n;
    let blockReserved = 0n;
    for (const r of rows) {
      inUse += BigInt(r.inUse);
      blockAvailable += BigInt(r.available);
      blockCapacity += BigInt(r.capacity);
      blockReserved += BigInt(r.reserved);
    }
    const capacity = cidrSize(pool.cidr);
    const outsideBlocks = capacity - blockCapacity - (poolReserved - blockReserved);
    out.push({
      name: pool.name,
      cidr: pool.cidrText,
      capacity,
      inUse,
      reserved: poolReserved,
      available: blockAvailable + outsideBlocks,
      blocks: rows,
    });
  }
  const orphans = blocks.filter((b) => !claimed.has(b));
  if (orphans.length > 0) {
    const rows = orphans.map((b) => blockUtilization(b, reservations));
    const sum = (f: (r: BlockUtilization) => number) => rows.reduce((n, r) => n + BigInt(f(r)), 0n);
    out.push({
      name: ORPHANED_BLOCKS,
      cidr: "",
      capacity: sum((r) => r.capacity),
      inUse: sum((r) => r.inUse),
      reserved: sum((r) => r.reserved),
      available: sum((r) => r.available),
      blocks: rows,
    });
  }
  return out;
}
