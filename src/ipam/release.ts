/**
 * Giving addresses and blocks back: release by address (optionally guarded by handle and
 * sequence number), release by handle, and release of affinities (host, pool, CIDR). A
 * released address goes into cooldown and is freed by the block's GC; a block left empty and
 * unowned is deleted; an empty affine block stays with its owner.
 */
import { ResourceNotFoundError, UpdateConflictError } from "../datastore/errors.js";
import {
  type CIDR,
  cidrContains,
  cidrContainsIP,
  formatCIDR,
  formatIP,
  type IPAddr,
  parseCIDR,
  parseIP,
} from "../lib/net.js";
import {
  type AllocationBlock,
  blockCIDRFor,
  garbageCollect,
  handleAt,
  ipToOrdinal,
  isAllocated,
  isEmpty,
  isInCooldown,
  ordinalsForHandle,
  ordinalToIP,
  releaseOrdinals,
  sanitiseHandle,
  sequenceNumberOf,
} from "./block.js";
import { blockAt, blockCount, blockIndexOfAddress } from "./blockwalk.js";
import { type BlockClaims, isIgnorableReleaseError } from "./claims.js";
import type { IPAMConfig } from "./config.js";
import type { IPAMContext } from "./context.js";
import { InvalidIPAMRequestError, MaxRetriesError, ReleaseMismatchError } from "./errors.js";
import { type AffinityOwner, hostOwner, ipamHostKey, parseOwnerString } from "./keys.js";
import { type IPPoolInfo, poolContainingCIDR, poolContainingIP, selectorMatches } from "./pools.js";
import { DATASTORE_RETRIES, retryOnConflict, type Versioned } from "./store.js";

export interface ReleaseOptions {
  address: string;
  /** Release only if the address still belongs to this handle (Calico's `Handle`). */
  handle?: string;
  /** Release only if the address was allocated at this block sequence number (guards against reuse). */
  sequenceNumber?: bigint;
}

export interface ReleaseResult {
  /** Requested addresses that were not allocated (or already cooling down): not an error. */
  unallocated: string[];
  released: string[];
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await fn(items[i] as T) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

interface Parsed {
  opts: ReleaseOptions;
  ip: IPAddr;
}

export class Releaser {
  constructor(
    readonly ctx: IPAMContext,
    readonly claims: BlockClaims,
  ) {}

  async releaseIPs(requests: readonly (string | ReleaseOptions)[]): Promise<ReleaseResult> {
    const parsed: Parsed[] = requests.map((r) => {
      const opts = typeof r === "string" ? { address: r } : { ...r };
      const ip = parseIP(opts.address);
      if (!ip) throw new InvalidIPAMRequestError(`invalid IP address: ${opts.address}`);
      if (opts.handle !== undefined) opts.handle = sanitiseHandle(opts.handle);
      return { opts, ip };
    });
    const [config, pools] = await Promise.all([this.ctx.config(), this.ctx.pools()]);
    const result: ReleaseResult = { unallocated: [], released: [] };
    const groups = new Map<string, { cidr: CIDR; items: Parsed[] }>();
    let known: Versioned<AllocationBlock>[] | undefined;
    for (const p of parsed) {
      let cidr: CIDR | undefined;
      const pool = poolContainingIP(pools, p.ip);
      if (pool) {
        cidr = blockCIDRFor(p.ip, pool.blockSize);
      } else {
        // An address outside every pool may still sit in a block whose pool was deleted.
        known ??= await this.ctx.store.listBlocks();
        cidr = known.find((b) => cidrContainsIP(b.value.cidr, p.ip))?.value.cidr;
      }
      if (!cidr) {
        result.unallocated.push(p.opts.address);
        continue;
      }
      const key = formatCIDR(cidr);
      const g = groups.get(key) ?? { cidr, items: [] };
      g.items.push(p);
      groups.set(key, g);
    }
    const outcomes = await mapLimit([...groups.values()], 8, (g) =>
      this.#releaseInBlock(g.cidr, g.items, config, pools),
    );
    let firstError: unknown;
    for (const o of outcomes) {
      if (o.status === "fulfilled") {
        result.unallocated.push(...o.value.unallocated);
        result.released.push(...o.value.released);
      } else firstError ??= o.reason;
    }
    if (firstError !== undefined) throw firstError;
    return result;
  }

  async #releaseInBlock(
    cidr: CIDR,
    items: Parsed[],
    config: IPAMConfig,
    pools: IPPoolInfo[],
  ): Promise<ReleaseResult> {
    for (let attempt = 0; attempt < DATASTORE_RETRIES; attempt++) {
      const gc = this.ctx.gc(config);
      const current = await this.ctx.store.getBlock(cidr, gc);
      if (!current) return { unallocated: items.map((i) => i.opts.address), released: [] };
      const block = current.value;
      const result: ReleaseResult = { unallocated: [], released: [] };
      const ordinals = new Set<number>();
      const perHandle = new Map<string, number>();
      for (const { opts, ip } of items) {
        const ord = ipToOrdinal(block, ip);
        if (ord === undefined || ordinals.has(ord)) continue;
        if (opts.sequenceNumber !== undefined && sequenceNumberOf(block, ord) !== opts.sequenceNumber) {
          throw new ReleaseMismatchError(opts.address, "bad sequence number");
        }
        if (!isAllocated(block, ord) || isInCooldown(block, ord)) {
          result.unallocated.push(opts.address);
          continue;
        }
        const handle = handleAt(block, ord);
        if (opts.handle !== undefined && opts.handle !== handle) {
          throw new ReleaseMismatchError(opts.address, "bad handle");
        }
        ordinals.add(ord);
        result.released.push(opts.address);
        if (handle !== undefined) perHandle.set(handle, (perHandle.get(handle) ?? 0) + 1);
      }
      if (ordinals.size === 0) return result;
      releaseOrdinals(block, ordinals, gc.now);
      garbageCollect(block, config.ipCooldownSeconds, gc.now);
      try {
        await this.#persist(block, current.rev);
      } catch (err) {
        if (err instanceof UpdateConflictError || err instanceof ResourceNotFoundError) continue;
        throw err;
      }
      const cidrText = formatCIDR(cidr);
      for (const [handle, n] of perHandle) await this.#decrementHandle(handle, cidrText, n);
      await this.#ensureConsistentAffinity(block, pools, config);
      return result;
    }
    throw new MaxRetriesError();
  }

  /** An empty block with no owner is deleted; anything else is updated. */
  async #persist(block: AllocationBlock, rev: string): Promise<void> {
    if (block.affinity === null && isEmpty(block)) await this.ctx.store.deleteBlock(block.cidr, rev);
    else await this.ctx.store.updateBlock(block, rev);
  }

  async #decrementHandle(handle: string, cidr: string, n: number): Promise<void> {
    try {
      const problem = await this.ctx.store.decrementHandle(handle, cidr, n);
      if (problem) this.ctx.log.warn(`handle ${handle}: ${problem.message}`);
    } catch (err) {
      this.ctx.log.warn(`failed to decrement handle ${handle} for ${cidr}: ${String(err)}`);
    }
  }

  /** An empty block whose pool no longer selects its owner node gives up its affinity. */
  async #ensureConsistentAffinity(
    block: AllocationBlock,
    pools: IPPoolInfo[],
    config: IPAMConfig,
  ): Promise<void> {
    const owner = parseOwnerString(block.affinity);
    if (owner?.type !== "host" || !isEmpty(block)) return;
    const pool = poolContainingCIDR(pools, block.cidr);
    if (!pool) return;
    try {
      const node = await this.ctx.inventory.getNode(owner.name);
      if (!node || selectorMatches(pool.nodeSelector, node.metadata.labels ?? {})) return;
      await this.claims.releaseBlockAffinity(owner, block.cidr, this.ctx.gc(config), { requireEmpty: true });
    } catch (err) {
      this.ctx.log.debug(`affinity of ${formatCIDR(block.cidr)} left in place: ${String(err)}`);
    }
  }

  /**
   * Releases every address owned by a handle and returns them. A missing handle is
   * ResourceNotFoundError (the CNI DEL path treats that as success). Block entries of the handle
   * that hold nothing (an over-count left by an interrupted write) are removed, so the handle
   * does not outlive its addresses.
   */
  async releaseByHandle(handleId: string, opts: { sequenceNumber?: bigint } = {}): Promise<string[]> {
    const id = sanitiseHandle(handleId) ?? handleId;
    const handle = await this.ctx.store.getHandle(id);
    if (!handle) throw new ResourceNotFoundError(`IPAMHandle(${id})`);
    const [config, pools] = await Promise.all([this.ctx.config(), this.ctx.pools()]);
    const released: string[] = [];
    for (const [cidrText, count] of Object.entries(handle.value.block)) {
      const cidr = parseCIDR(cidrText);
      const ips = cidr ? await this.#releaseHandleInBlock(id, cidr, config, pools, opts.sequenceNumber) : [];
      released.push(...ips);
      // Without a sequence filter everything the handle had in this block is gone now, so its
      // whole entry goes, including any over-count.
      const drop = opts.sequenceNumber === undefined ? Math.max(count, ips.length) : ips.length;
      if (drop > 0) await this.#decrementHandle(id, cidrText, drop);
    }
    return released;
  }

  async #releaseHandleInBlock(
    id: string,
    cidr: CIDR,
    config: IPAMConfig,
    pools: IPPoolInfo[],
    sequenceNumber: bigint | undefined,
  ): Promise<string[]> {
    for (let attempt = 0; attempt < DATASTORE_RETRIES; attempt++) {
      const gc = this.ctx.gc(config);
      const current = await this.ctx.store.getBlock(cidr, gc);
      if (!current) return [];
      const block = current.value;
      const ords = ordinalsForHandle(block, id).filter(
        (o) => sequenceNumber === undefined || sequenceNumberOf(block, o) === sequenceNumber,
      );
      if (ords.length === 0) return [];
      const ips = ords.map((o) => formatIP(ordinalToIP(block, o)));
      releaseOrdinals(block, ords, gc.now);
      garbageCollect(block, config.ipCooldownSeconds, gc.now);
      try {
        await this.#persist(block, current.rev);
      } catch (err) {
        if (err instanceof UpdateConflictError || err instanceof ResourceNotFoundError) continue;
        throw err;
      }
      await this.#ensureConsistentAffinity(block, pools, config);
      return ips;
    }
    throw new MaxRetriesError();
  }

  /** Releases one owner's affinity to one block, retrying CAS conflicts. */
  async #releaseOne(
    owner: AffinityOwner,
    cidr: CIDR,
    config: IPAMConfig,
    requireEmpty: boolean,
  ): Promise<void> {
    await retryOnConflict(() =>
      this.claims.releaseBlockAffinity(owner, cidr, this.ctx.gc(config), { requireEmpty }),
    );
  }

  /** Every affinity of a host, both families; best effort, throwing the last real failure. */
  async releaseHostAffinities(host: string, mustBeEmpty: boolean): Promise<void> {
    const owner = hostOwner(host);
    const config = await this.ctx.config();
    let lastError: unknown;
    for (const a of await this.ctx.store.listAffinities(owner)) {
      try {
        await this.#releaseOne(owner, a.cidr, config, mustBeEmpty);
      } catch (err) {
        if (!isIgnorableReleaseError(err, mustBeEmpty)) lastError = err;
      }
    }
    if (lastError !== undefined) throw lastError;
  }

  /** The host's affinity to every block inside `cidrText` (which must lie in a pool). */
  async releaseAffinity(cidrText: string, host: string, mustBeEmpty: boolean): Promise<void> {
    const cidr = parseCIDR(cidrText);
    const [config, pools] = await Promise.all([this.ctx.config(), this.ctx.pools()]);
    const pool = cidr && poolContainingCIDR(pools, cidr);
    if (!cidr || !pool)
      throw new InvalidIPAMRequestError(`The requested CIDR (${cidrText}) is not within any IP pool`);
    if (cidr.prefix > pool.blockSize) {
      throw new InvalidIPAMRequestError(
        `The requested CIDR (${cidrText}) is smaller than the pool's block size`,
      );
    }
    const inner: IPPoolInfo = { ...pool, cidr };
    const first = blockIndexOfAddress(pool, cidr.address);
    const owner = hostOwner(host);
    for (let i = 0n; i < blockCount(inner); i++) {
      try {
        await this.#releaseOne(owner, blockAt(pool, first + i), config, mustBeEmpty);
      } catch (err) {
        if (!isIgnorableReleaseError(err, false)) throw err;
      }
    }
  }

  /** Every owner's affinity inside a pool; used when a pool is deleted. Repeats while races release nothing. */
  async releasePoolAffinities(poolCidrText: string): Promise<void> {
    const poolCidr = parseCIDR(poolCidrText);
    if (!poolCidr) throw new InvalidIPAMRequestError(`invalid CIDR: ${poolCidrText}`);
    const config = await this.ctx.config();
    for (let round = 0; round < DATASTORE_RETRIES; round++) {
      const affinities = (await this.ctx.store.listAllAffinities()).filter((a) =>
        cidrContains(poolCidr, a.cidr),
      );
      if (affinities.length === 0) return;
      let raced = false;
      for (const a of affinities) {
        try {
          await this.claims.releaseBlockAffinity(a.owner, a.cidr, this.ctx.gc(config));
        } catch (err) {
          if (err instanceof UpdateConflictError) raced = true;
          else if (!isIgnorableReleaseError(err, false)) throw err;
        }
      }
      if (!raced) return;
    }
    throw new MaxRetriesError();
  }

  /** Releases a host's affinities (not its addresses) and removes the legacy host marker. */
  async removeIPAMHost(host: string): Promise<void> {
    await this.releaseHostAffinities(host, false);
    await this.ctx.store.deleteIPAMHostMarker(ipamHostKey(host));
  }
}
