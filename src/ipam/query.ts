/** Read-only IPAM questions: who owns an address, which addresses a handle holds, utilisation. */
import { ResourceNotFoundError } from "../datastore/errors.js";
import { cidrContainsIP, formatCIDR, formatIP, parseCIDR, parseIP } from "../lib/net.js";
import {
  type AllocationBlock,
  attributeAt,
  blockCIDRFor,
  ipToOrdinal,
  isAllocated,
  isInCooldown,
  ordinalsForHandle,
  ordinalToIP,
  sanitiseHandle,
  sequenceNumberOf,
} from "./block.js";
import type { IPAMContext } from "./context.js";
import { AddressNotAssignedError, InvalidIPAMRequestError, IPInCooldownError } from "./errors.js";
import { poolContainingIP } from "./pools.js";
import type { Versioned } from "./store.js";
import { computeUtilization, type PoolUtilization } from "./utilization.js";

export interface AssignmentAttributes {
  handleId?: string;
  /** Active owner attributes. */
  attrs: Record<string, string>;
  alternateOwnerAttrs?: Record<string, string>;
  /** Block sequence number when the address was allocated (pass it to a guarded release). */
  sequenceNumber: bigint;
  /** The block CIDR holding the address. */
  block: string;
  /** The block's owner (`host:<node>`), or null. */
  blockAffinity: string | null;
}

export class Queries {
  constructor(readonly ctx: IPAMContext) {}

  /** The block holding `ip`: located through its pool, else by scanning blocks (deleted pools). */
  async #blockFor(ip: string): Promise<{ block: Versioned<AllocationBlock>; ordinal: number }> {
    const addr = parseIP(ip);
    if (!addr) throw new InvalidIPAMRequestError(`invalid IP address: ${ip}`);
    const config = await this.ctx.config();
    const gc = this.ctx.gc(config);
    const pool = poolContainingIP(await this.ctx.pools(), addr);
    let block: Versioned<AllocationBlock> | undefined;
    if (pool) {
      block = await this.ctx.store.getBlock(blockCIDRFor(addr, pool.blockSize), gc);
    } else {
      block = (await this.ctx.store.listBlocks(gc)).find((b) => cidrContainsIP(b.value.cidr, addr));
    }
    const ordinal = block && ipToOrdinal(block.value, addr);
    if (!block || ordinal === undefined) throw new AddressNotAssignedError(formatIP(addr));
    return { block, ordinal };
  }

  async getAssignmentAttributes(ip: string): Promise<AssignmentAttributes> {
    const { block, ordinal } = await this.#blockFor(ip);
    const b = block.value;
    const text = formatIP(ordinalToIP(b, ordinal));
    if (!isAllocated(b, ordinal)) throw new AddressNotAssignedError(text);
    if (isInCooldown(b, ordinal)) throw new IPInCooldownError(text);
    const rec = attributeAt(b, ordinal) ?? {};
    const out: AssignmentAttributes = {
      attrs: { ...(rec.secondary ?? {}) },
      sequenceNumber: sequenceNumberOf(b, ordinal),
      block: formatCIDR(b.cidr),
      blockAffinity: b.affinity,
    };
    const handle = sanitiseHandle(rec.handle_id);
    if (handle !== undefined) out.handleId = handle;
    if (rec.alternateOwnerAttrs) out.alternateOwnerAttrs = { ...rec.alternateOwnerAttrs };
    return out;
  }

  /** Addresses (no mask) held by a handle; ResourceNotFoundError when the handle does not exist. */
  async ipsByHandle(handleId: string): Promise<string[]> {
    const id = sanitiseHandle(handleId) ?? handleId;
    const handle = await this.ctx.store.getHandle(id);
    if (!handle) throw new ResourceNotFoundError(`IPAMHandle(${id})`);
    const gc = this.ctx.gc(await this.ctx.config());
    const ips: string[] = [];
    for (const cidrText of Object.keys(handle.value.block)) {
      const cidr = parseCIDR(cidrText);
      const block = cidr && (await this.ctx.store.getBlock(cidr, gc));
      if (!block) continue;
      for (const o of ordinalsForHandle(block.value, id)) ips.push(formatIP(ordinalToIP(block.value, o)));
    }
    return ips;
  }

  /** Utilisation of every pool (or of the pools whose name or CIDR is listed), plus orphan blocks. */
  async getUtilization(poolFilter: readonly string[] = []): Promise<PoolUtilization[]> {
    const config = await this.ctx.config();
    const [pools, blocks, reservations] = await Promise.all([
      this.ctx.pools(),
      this.ctx.store.listBlocks(this.ctx.gc(config)),
      this.ctx.reservations(),
    ]);
    const all = computeUtilization(
      pools,
      blocks.map((b) => b.value),
      reservations,
    );
    if (poolFilter.length === 0) return all;
    return all.filter((u) => poolFilter.includes(u.name) || poolFilter.includes(u.cidr));
  }
}
