/**
 * Allocation: AutoAssign (affine blocks first, then a newly claimed block, then borrowing when
 * Calico would) and AssignIP (one specific address). Writes follow Calico's order: allocate in
 * an in-memory copy of the block, add to the handle, CAS the block; if the block write fails the
 * handle is decremented again and, on a conflict, the block is re-read and the step retried.
 */
import {
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  UpdateConflictError,
} from "../datastore/errors.js";
import { type CIDR, cidrContains, formatCIDR, formatIP, parseIP } from "../lib/net.js";
import {
  type AllocationBlock,
  allocateFromBlock,
  assignOrdinal,
  blockCIDRFor,
  freeCount,
  ipToOrdinal,
  isEmpty,
  ordinalToCIDRText,
} from "./block.js";
import { BlockWalk, startIndex, walkOrder } from "./blockwalk.js";
import type { BlockClaims } from "./claims.js";
import { effectiveBlockCap, type IPAMConfig } from "./config.js";
import type { IPAMContext } from "./context.js";
import {
  BlockClaimConflictError,
  BlockLimitError,
  InvalidIPAMRequestError,
  IPAMError,
  MaxRetriesError,
  NoFreeBlocksError,
  StaleAffinityError,
} from "./errors.js";
import { type AffinityOwner, ownerString, parseOwnerString } from "./keys.js";
import {
  determinePools,
  enabledPools,
  type IntendedUse,
  type IPPoolInfo,
  poolContainingCIDR,
  poolContainingIP,
  selectorMatches,
} from "./pools.js";
import type { Reservations } from "./reservations.js";
import { type AffinityEntry, DATASTORE_RETRIES, type GCContext, type Versioned } from "./store.js";

/** An affine block younger than this is never reclaimed, so two hosts cannot ping-pong it. */
export const EMPTY_BLOCK_MIN_RECLAIM_AGE_MS = 60_000;

export interface AutoAssignRequest {
  /** Handle that owns the addresses (CNI: `<network>.<containerID>`). */
  handleId?: string;
  /** Active-owner attributes stored with the allocation (`node`, `pod`, `namespace`, `timestamp`...). */
  attrs?: Record<string, string>;
  /** Node to allocate for; defaults to the lower-cased OS hostname. */
  hostname?: string;
  num4?: number;
  num6?: number;
  /** Pool CIDRs to use instead of selector-based choice. */
  ipv4Pools?: string[];
  ipv6Pools?: string[];
  /** Per-request block cap; the smaller of this and the configured cap applies. */
  maxBlocksPerHost?: number;
  /** Defaults to `Workload`. */
  intendedUse?: IntendedUse;
  /** Labels of the workload's namespace, for pools with a namespaceSelector. */
  namespaceLabels?: Record<string, string>;
}

export interface IPAMAssignments {
  /** Assigned addresses carrying the block's mask, e.g. `10.65.79.5/26`. */
  ips: string[];
  ipVersion: 4 | 6;
  numRequested: number;
  /** Why fewer addresses than requested were assigned. */
  msgs: string[];
}

export interface AutoAssignResult {
  ipv4: IPAMAssignments;
  ipv6: IPAMAssignments;
}

/** AutoAssign failed; `result` holds what was assigned before the failure (still owned by the handle). */
export class AutoAssignError extends IPAMError {
  override name = "AutoAssignError";
  constructor(
    override readonly cause: Error,
    readonly result: AutoAssignResult,
  ) {
    super(cause.message, { cause });
  }
}

/** Calico's PartialFulfillmentError text. */
export function partialFulfillmentMessage(a: IPAMAssignments): string | undefined {
  if (a.ips.length >= a.numRequested) return undefined;
  return `Assigned ${a.ips.length} out of ${a.numRequested} requested IPv${a.ipVersion} addresses; ${a.msgs.join("; ")}`;
}

export interface AssignIPRequest {
  ip: string;
  handleId?: string;
  attrs?: Record<string, string>;
  hostname?: string;
  intendedUse?: IntendedUse;
}

/** Everything one family of one AutoAssign works with. */
interface FamilyRun {
  family: 4 | 6;
  owner: AffinityOwner;
  host: string;
  config: IPAMConfig;
  reservations: Reservations;
  pools: IPPoolInfo[];
  handleId: string | undefined;
  attrs: Record<string, string> | undefined;
}

export class Assigner {
  constructor(
    readonly ctx: IPAMContext,
    readonly claims: BlockClaims,
  ) {}

  #gc(run: { config: IPAMConfig }): GCContext {
    return this.ctx.gc(run.config);
  }

  async autoAssign(req: AutoAssignRequest, host: string): Promise<AutoAssignResult> {
    const use = req.intendedUse ?? "Workload";
    const owner: AffinityOwner =
      use === "LoadBalancer" ? { type: "virtual", name: "load-balancer" } : { type: "host", name: host };
    const result: AutoAssignResult = {
      ipv4: { ips: [], ipVersion: 4, numRequested: req.num4 ?? 0, msgs: [] },
      ipv6: { ips: [], ipVersion: 6, numRequested: req.num6 ?? 0, msgs: [] },
    };
    checkRequestedFamily(req.ipv4Pools, 4);
    checkRequestedFamily(req.ipv6Pools, 6);
    for (const out of [result.ipv4, result.ipv6]) {
      if (out.numRequested <= 0) continue;
      try {
        await this.#assignFamily(req, owner, host, use, out);
      } catch (err) {
        throw new AutoAssignError(err instanceof Error ? err : new Error(String(err)), result);
      }
    }
    return result;
  }

  async #assignFamily(
    req: AutoAssignRequest,
    owner: AffinityOwner,
    host: string,
    use: IntendedUse,
    out: IPAMAssignments,
  ): Promise<void> {
    const family = out.ipVersion;
    // Independent reads go out together: each is a round trip to the datastore.
    const [config, reservations, allPools, nodeLabels, affinities] = await Promise.all([
      this.ctx.config(),
      this.ctx.reservations(),
      this.ctx.pools(),
      owner.type === "host" ? this.ctx.nodeLabels(host) : Promise.resolve({}),
      this.ctx.store.listAffinities(owner, family),
    ]);
    const pools = determinePools({
      pools: allPools,
      family,
      requested: family === 4 ? req.ipv4Pools : req.ipv6Pools,
      nodeName: host,
      nodeLabels,
      namespaceLabels: req.namespaceLabels,
      use,
    });
    const run: FamilyRun = {
      family,
      owner,
      host,
      config,
      reservations,
      pools,
      handleId: req.handleId,
      attrs: req.attrs,
    };
    const affine = await this.#affineBlocks(run, affinities, allPools, nodeLabels);
    const cap = effectiveBlockCap(req.maxBlocksPerHost, config.maxBlocksPerHost);
    let owned = affine.length;
    let fruitless = 0;
    while (out.ips.length < out.numRequested) {
      let found: { block: Versioned<AllocationBlock>; claimed: boolean };
      try {
        found = await this.#findOrClaimBlock(run, affine, owned < cap, cap);
      } catch (err) {
        if (err instanceof NoFreeBlocksError) {
          if (config.strictAffinity) out.msgs.push("No more free affine blocks and strict affinity enabled");
          break;
        }
        if (err instanceof BlockLimitError) out.msgs.push(err.message);
        throw err;
      }
      if (found.claimed) owned++;
      const affinityCheck = config.strictAffinity ? ownerString(owner) : undefined;
      let ips: string[] = [];
      try {
        ips = await this.#assignFromBlock(run, found.block, out.numRequested - out.ips.length, affinityCheck);
      } catch (err) {
        if (!(err instanceof IPAMError)) throw err;
        out.msgs.push("Failed to assign IPs in newly allocated block");
      }
      out.ips.push(...ips);
      // A block that looked free but yielded nothing (raced away): bounded, like every retry loop.
      fruitless = ips.length === 0 ? fruitless + 1 : 0;
      if (fruitless >= DATASTORE_RETRIES) throw new MaxRetriesError();
    }
    if (out.ips.length < out.numRequested && !config.strictAffinity) await this.#borrow(run, out);
  }

  /**
   * This host's affine blocks (key order) inside the allowed pools. Affinities in pools whose
   * nodeSelector no longer matches this node are released if their blocks are empty.
   */
  async #affineBlocks(
    run: FamilyRun,
    affinities: readonly AffinityEntry[],
    allPools: IPPoolInfo[],
    nodeLabels: Record<string, string>,
  ): Promise<CIDR[]> {
    const usable: CIDR[] = [];
    for (const a of affinities) {
      if (run.pools.some((p) => cidrContains(p.cidr, a.cidr))) {
        usable.push(a.cidr);
        continue;
      }
      if (run.owner.type !== "host") continue;
      const pool = poolContainingCIDR(enabledPools(allPools, run.family), a.cidr);
      if (!pool || selectorMatches(pool.nodeSelector, nodeLabels)) continue;
      try {
        await this.claims.releaseBlockAffinity(run.owner, a.cidr, this.#gc(run), { requireEmpty: true });
      } catch (err) {
        this.ctx.log.debug(`not releasing affinity for ${formatCIDR(a.cidr)}: ${String(err)}`);
      }
    }
    return usable;
  }

  async #findOrClaimBlock(
    run: FamilyRun,
    affine: CIDR[],
    canClaim: boolean,
    cap: number,
  ): Promise<{ block: Versioned<AllocationBlock>; claimed: boolean }> {
    for (let cidr = affine.shift(); cidr; cidr = affine.shift()) {
      const reserved = run.reservations.forBlock(cidr);
      if (reserved.full) continue;
      const block = await this.#usableAffineBlock(run, cidr);
      if (block && freeCount(block.value, reserved.isReserved) > 0) return { block, claimed: false };
    }
    if (!canClaim) throw new BlockLimitError(cap);
    if (!run.config.autoAllocateBlocks) throw new IPAMError("failed to find or claim a block");
    for (let i = 0; i < DATASTORE_RETRIES; i++) {
      const { cidr, ours } = await this.#findUsableBlock(run);
      if (ours) {
        // Another process on this host claimed it since we listed our affinities.
        const block = await this.#usableAffineBlock(run, cidr);
        if (block) return { block, claimed: false };
        continue;
      }
      try {
        const pending = await this.claims.pendingAffinity(run.owner, cidr);
        return {
          block: await this.claims.claimBlock(run.owner, cidr, pending, this.#gc(run)),
          claimed: true,
        };
      } catch (err) {
        if (err instanceof BlockClaimConflictError || err instanceof UpdateConflictError) continue;
        throw err;
      }
    }
    throw new MaxRetriesError();
  }

  /** Reads one of our affine blocks; undefined when it turns out not to be usable. */
  async #usableAffineBlock(run: FamilyRun, cidr: CIDR): Promise<Versioned<AllocationBlock> | undefined> {
    for (let i = 0; i < DATASTORE_RETRIES; i++) {
      try {
        const gc = this.#gc(run);
        const [affinity, block] = await Promise.all([
          this.ctx.store.getAffinity(run.owner, cidr),
          this.ctx.store.getBlock(cidr, gc),
        ]);
        if (!affinity) return undefined;
        return await this.claims.blockFromAffinity(run.owner, cidr, affinity, gc, { block });
      } catch (err) {
        if (err instanceof UpdateConflictError) continue;
        if (isMoveOnError(err)) return undefined;
        throw err;
      }
    }
    return undefined;
  }

  /**
   * A block CIDR to claim: the first CIDR (in this host's walk order) with no block, or one of
   * ours with room; failing that, another owner's empty block old enough to reclaim.
   */
  async #findUsableBlock(run: FamilyRun): Promise<{ cidr: CIDR; ours: boolean }> {
    const gc = this.#gc(run);
    const byCidr = await this.ctx.store.blockIndex(gc);
    const mine = ownerString(run.owner);
    const reclaimable: Versioned<AllocationBlock>[] = [];
    for (const pool of run.pools) {
      const walk = new BlockWalk(pool, startIndex(pool, run.host, gc.now));
      for (let cidr = walk.next(); cidr; cidr = walk.next()) {
        const coverEnd = run.reservations.coveringEnd(cidr);
        if (coverEnd !== undefined) {
          walk.skipThrough(coverEnd);
          continue;
        }
        const reserved = run.reservations.forBlock(cidr);
        if (reserved.full) continue;
        const b = byCidr.get(cidr);
        if (!b) return { cidr, ours: false };
        const free = freeCount(b.value, reserved.isReserved);
        if (b.value.affinity === mine && free > 0) return { cidr, ours: true };
        if (free > 0 && isEmpty(b.value)) reclaimable.push(b);
      }
    }
    for (const b of reclaimable) {
      const claimedAt = b.value.affinityClaimTime ? Date.parse(b.value.affinityClaimTime) : Number.NaN;
      if (gc.now.getTime() - claimedAt < EMPTY_BLOCK_MIN_RECLAIM_AGE_MS) continue;
      try {
        const previous = parseOwnerString(b.value.affinity);
        if (previous) {
          await this.claims.releaseBlockAffinity(previous, b.value.cidr, gc, {
            requireEmpty: true,
            requiredSequenceNumber: b.value.sequenceNumber,
          });
        } else {
          await this.ctx.store.deleteBlock(b.value.cidr, b.rev);
        }
        return { cidr: b.value.cidr, ours: false };
      } catch (err) {
        if (!(err instanceof UpdateConflictError) && !isMoveOnError(err)) throw err;
        this.ctx.log.debug(`could not reclaim ${formatCIDR(b.value.cidr)}: ${String(err)}`);
      }
    }
    throw new NoFreeBlocksError();
  }

  /**
   * Allocates up to `num` addresses from a block and persists them (handle first, then the
   * block). Returns the addresses with the block mask; none when the block is full or gone.
   */
  async #assignFromBlock(
    run: FamilyRun,
    start: Versioned<AllocationBlock>,
    num: number,
    affinityCheck: string | undefined,
  ): Promise<string[]> {
    const cidrText = formatCIDR(start.value.cidr);
    // What the handle already counts for this block. It is kept across CAS retries instead of
    // being taken back and re-added each time (the handle only over-counts meanwhile, which
    // release tolerates) and any surplus is taken back at the end.
    let held = 0;
    let committed = 0;
    try {
      let current: Versioned<AllocationBlock> | undefined = start;
      for (let i = 0; i < DATASTORE_RETRIES && current; i++) {
        const block = current.value;
        const reserved = run.reservations.forBlock(block.cidr);
        const ords = allocateFromBlock(block, {
          num,
          handleId: run.handleId,
          attrs: run.attrs,
          affinityCheck,
          reserved: reserved.isReserved,
        });
        if (ords.length === 0) return [];
        if (run.handleId && ords.length > held) {
          await this.ctx.store.incrementHandle(run.handleId, cidrText, ords.length - held);
          held = ords.length;
        }
        try {
          await this.ctx.store.updateBlock(block, current.rev);
          committed = ords.length;
          return ords.map((o) => ordinalToCIDRText(block, o));
        } catch (err) {
          if (!(err instanceof UpdateConflictError) && !(err instanceof ResourceNotFoundError)) throw err;
          current = this.ctx.store.blockFromConflict(err, this.#gc(run));
        }
        current ??= await this.ctx.store.getBlock(block.cidr, this.#gc(run));
      }
      if (current) throw new MaxRetriesError();
      return [];
    } finally {
      if (run.handleId && held > committed) await this.#undoHandle(run.handleId, cidrText, held - committed);
    }
  }

  async #undoHandle(handleId: string, cidr: string, num: number): Promise<void> {
    try {
      await this.ctx.store.decrementHandle(handleId, cidr, num);
    } catch (err) {
      // The handle over-counts until the next release by handle cleans it; release tolerates that.
      this.ctx.log.warn(`failed to decrement handle ${handleId} after a failed block write: ${String(err)}`);
    }
  }

  /** Borrowing: take addresses from any existing block of the allowed pools, never creating blocks. */
  async #borrow(run: FamilyRun, out: IPAMAssignments): Promise<void> {
    const gc = this.#gc(run);
    const blocks = await this.ctx.store.listBlocks(gc);
    for (const pool of run.pools) {
      const inPool = blocks.filter(
        (b) => b.value.cidr.prefix === pool.blockSize && cidrContains(pool.cidr, b.value.cidr),
      );
      for (const b of walkOrder(pool, startIndex(pool, run.host, gc.now), inPool, (x) => x.value.cidr)) {
        if (out.ips.length >= out.numRequested) return;
        const reserved = run.reservations.forBlock(b.value.cidr);
        if (reserved.full || freeCount(b.value, reserved.isReserved) === 0) continue;
        try {
          out.ips.push(
            ...(await this.#assignFromBlock(run, b, out.numRequested - out.ips.length, undefined)),
          );
        } catch (err) {
          if (!(err instanceof MaxRetriesError)) throw err;
        }
      }
    }
    if (out.ips.length < out.numRequested) {
      out.msgs.push(`No IPs available in pools: [${run.pools.map((p) => p.cidrText).join(" ")}]`);
    }
  }

  /** Assigns one specific address (CNI `ipAddrs`, tunnel address repair). Reservations do not apply. */
  async assignIP(req: AssignIPRequest, host: string): Promise<void> {
    const ip = parseIP(req.ip);
    if (!ip) throw new InvalidIPAMRequestError(`invalid IP address: ${req.ip}`);
    const use = req.intendedUse;
    const owner: AffinityOwner =
      use === "LoadBalancer" ? { type: "virtual", name: "load-balancer" } : { type: "host", name: host };
    const [config, allPools] = await Promise.all([this.ctx.config(), this.ctx.pools()]);
    const pool = poolContainingIP(enabledPools(allPools, ip.family), ip);
    if (!pool) throw new IPAMError("The provided IP address is not in a configured pool");
    if (use && !pool.allowedUses.includes(use)) {
      throw new IPAMError(
        `The provided IP address is in pool ${pool.name}, which does not allow ${use} (allowed uses: ${pool.allowedUses.join(", ")})`,
      );
    }
    const cidr = blockCIDRFor(ip, pool.blockSize);
    const cidrText = formatCIDR(cidr);
    const run = { config };
    for (let i = 0; i < DATASTORE_RETRIES; i++) {
      let current = await this.ctx.store.getBlock(cidr, this.#gc(run));
      if (!current) {
        try {
          const pending = await this.claims.pendingAffinity(owner, cidr);
          current = await this.claims.claimBlock(owner, cidr, pending, this.#gc(run));
        } catch (err) {
          // Lost the race to another owner: retry and assign from the winner's block.
          if (err instanceof BlockClaimConflictError || err instanceof UpdateConflictError) continue;
          throw err;
        }
      }
      const block = current.value;
      const ordinal = ipToOrdinal(block, ip);
      if (ordinal === undefined) throw new IPAMError(`IP ${formatIP(ip)} is not in block ${cidrText}`);
      assignOrdinal(block, ordinal, {
        handleId: req.handleId,
        attrs: req.attrs,
        affinityCheck: config.strictAffinity ? ownerString(owner) : undefined,
      });
      if (req.handleId) await this.ctx.store.incrementHandle(req.handleId, cidrText, 1);
      try {
        await this.ctx.store.updateBlock(block, current.rev);
        return;
      } catch (err) {
        if (req.handleId) await this.#undoHandle(req.handleId, cidrText, 1);
        if (!(err instanceof UpdateConflictError) && !(err instanceof ResourceNotFoundError)) throw err;
      }
    }
    throw new MaxRetriesError();
  }
}

function checkRequestedFamily(pools: string[] | undefined, family: 4 | 6): void {
  for (const text of pools ?? []) {
    const ip = parseIP(text.split("/")[0] ?? "");
    if (!ip || ip.family !== family) {
      throw new InvalidIPAMRequestError(
        `provided IPv${family} IPPools list contains one or more IPv${family === 4 ? 6 : 4} IPPools`,
      );
    }
  }
}

/** Errors after which AutoAssign just tries the next block. */
function isMoveOnError(err: unknown): boolean {
  return (
    err instanceof IPAMError ||
    err instanceof StaleAffinityError ||
    err instanceof ResourceNotFoundError ||
    err instanceof ResourceAlreadyExistsError
  );
}
