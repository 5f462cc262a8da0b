/**
 * IPReservations as address ranges. AutoAssign skips reserved addresses, skips block CIDRs the
 * reservations cover completely (also when several smaller reservations together cover them)
 * and counts only non-reserved free addresses; AssignIP ignores reservations.
 */
import type { Resource } from "../api/meta.js";
import { type CIDR, cidrSize, type IPAddr, networkAddress, parseCIDR } from "../lib/net.js";

interface Range {
  family: 4 | 6;
  start: bigint;
  end: bigint;
}

function rangeOf(c: CIDR): Range {
  const start = networkAddress(c);
  return { family: c.family, start, end: start + cidrSize(c) - 1n };
}

// Math.max/min do not accept bigint.
function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** Reserved addresses inside one block CIDR, precomputed for ordinal lookups. */
export interface BlockReservations {
  /** Reserved addresses in the block (overlapping reservations counted once). */
  readonly count: number;
  readonly full: boolean;
  isReserved(ordinal: number): boolean;
}

const NONE: BlockReservations = { count: 0, full: false, isReserved: () => false };

export class Reservations {
  readonly #ranges: Range[];

  constructor(cidrs: Iterable<CIDR>) {
    this.#ranges = [...cidrs].map(rangeOf);
  }

  /** From IPReservation resources; malformed entries are skipped (Calico logs and ignores them). */
  static fromResources(resources: Iterable<Resource>): Reservations {
    const cidrs: CIDR[] = [];
    for (const r of resources) {
      const list = (r.spec as { reservedCIDRs?: unknown } | undefined)?.reservedCIDRs;
      if (!Array.isArray(list)) continue;
      for (const text of list) {
        const c = typeof text === "string" ? parseCIDR(text, { allowBareIP: true }) : undefined;
        if (c) cidrs.push(c);
      }
    }
    return new Reservations(cidrs);
  }

  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  isReserved(ip: IPAddr): boolean {
    return this.#ranges.some((r) => r.family === ip.family && r.start <= ip.value && ip.value <= r.end);
  }

  /** Clipped, merged reserved ranges inside `cidr`. */
  #within(cidr: CIDR): Range[] {
    const outer = rangeOf(cidr);
    const parts: Range[] = [];
    for (const r of this.#ranges) {
      if (r.family !== cidr.family || r.end < outer.start || r.start > outer.end) continue;
      parts.push({
        family: r.family,
        start: bigMax(r.start, outer.start),
        end: bigMin(r.end, outer.end),
      });
    }
    parts.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const merged: Range[] = [];
    for (const p of parts) {
      const last = merged[merged.length - 1];
      if (last && p.start <= last.end + 1n) {
        if (p.end > last.end) last.end = p.end;
      } else merged.push({ ...p });
    }
    return merged;
  }

  /** Number of addresses in `cidr` covered by at least one reservation. */
  countIn(cidr: CIDR): bigint {
    return this.#within(cidr).reduce((n, r) => n + (r.end - r.start + 1n), 0n);
  }

  fullyReserved(cidr: CIDR): boolean {
    return this.countIn(cidr) === cidrSize(cidr);
  }

  /**
   * The last address of a single reservation that covers `cidr` entirely, so a walk over block
   * CIDRs can jump past a large reserved range instead of visiting every block in it.
   */
  coveringEnd(cidr: CIDR): bigint | undefined {
    const { start, end } = rangeOf(cidr);
    let best: bigint | undefined;
    for (const r of this.#ranges) {
      if (
        r.family === cidr.family &&
        r.start <= start &&
        r.end >= end &&
        (best === undefined || r.end > best)
      ) {
        best = r.end;
      }
    }
    return best;
  }

  forBlock(cidr: CIDR): BlockReservations {
    const ranges = this.#within(cidr);
    if (ranges.length === 0) return NONE;
    const base = networkAddress(cidr);
    const count = Number(ranges.reduce((n, r) => n + (r.end - r.start + 1n), 0n));
    return {
      count,
      full: BigInt(count) === cidrSize(cidr),
      isReserved(ordinal: number): boolean {
        const v = base + BigInt(ordinal);
        return ranges.some((r) => r.start <= v && v <= r.end);
      },
    };
  }
}
