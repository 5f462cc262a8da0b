/**
 * Typed access to IPAM keys over a KVStore. Every write is compare-and-swap on the key's
 * modRevision (create-if-absent for new keys); nothing here retries except the handle counter,
 * whose read-modify-write is self-contained. Blocks are garbage-collected as they are read, so
 * callers always see expired cooldown addresses as free.
 */
import {
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  UpdateConflictError,
} from "../datastore/errors.js";
import type { KeyValue, KVStore } from "../datastore/kv.js";
import { type CIDR, formatCIDR } from "../lib/net.js";
import { type AffinityState, type BlockAffinity, decodeAffinity, encodeAffinity } from "./affinity.js";
import { type AllocationBlock, decodeBlock, encodeBlock, garbageCollect } from "./block.js";
import { decodeIPAMConfig, encodeIPAMConfig, type IPAMConfig } from "./config.js";
import { MaxRetriesError } from "./errors.js";
import {
  decodeHandle,
  decrementHandle,
  encodeHandle,
  handleIsEmpty,
  type IPAMHandle,
  incrementHandle,
} from "./handle.js";
import {
  type AffinityOwner,
  affinityKey,
  affinityPrefix,
  BLOCK_PREFIX,
  blockKey,
  CONFIG_KEY,
  HANDLE_PREFIX,
  handleKey,
  IPAM_ROOT,
  parseAffinityKey,
  parseBlockKey,
} from "./keys.js";

/** Calico's bound on every read-modify-write loop. */
export const DATASTORE_RETRIES = 100;

export interface Versioned<T> {
  value: T;
  /** modRevision of the key when read. */
  rev: string;
}

export interface AffinityEntry extends Versioned<BlockAffinity> {
  owner: AffinityOwner;
  cidr: CIDR;
}

export interface HandleEntry extends Versioned<IPAMHandle> {
  id: string;
}

/** In-block GC applied on read: cooldown length and the current time. */
export interface GCContext {
  cooldownSeconds: number;
  now: Date;
}

/** Runs `fn` until it stops failing with a CAS conflict, at most `retries` times. */
export async function retryOnConflict<T>(fn: () => Promise<T>, retries = DATASTORE_RETRIES): Promise<T> {
  for (let i = 0; i < retries; i++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof UpdateConflictError) continue;
      throw err;
    }
  }
  throw new MaxRetriesError();
}

/** Told about each value a list skipped because it could not be decoded. */
export type SkippedValue = (key: string, reason: string) => void;

/** Blocks by CIDR, decoded on first lookup; an undecodable block is absent, as listBlocks skips it. */
export class BlockIndex {
  readonly #raw = new Map<string, KeyValue>();
  readonly #decoded = new Map<string, Versioned<AllocationBlock> | undefined>();

  constructor(
    kvs: readonly KeyValue[],
    private readonly decode: (text: string) => AllocationBlock,
  ) {
    for (const kv of kvs) {
      const cidr = parseBlockKey(kv.key);
      if (cidr) this.#raw.set(formatCIDR(cidr), kv);
    }
  }

  get(cidr: CIDR): Versioned<AllocationBlock> | undefined {
    const text = formatCIDR(cidr);
    if (this.#decoded.has(text)) return this.#decoded.get(text);
    const kv = this.#raw.get(text);
    let out: Versioned<AllocationBlock> | undefined;
    try {
      out = kv && { value: this.decode(kv.value), rev: kv.modRevision };
    } catch {
      // A corrupt block is reported by `ipam check`; allocation just avoids it.
      out = undefined;
    }
    this.#decoded.set(text, out);
    return out;
  }
}

export class IPAMStore {
  constructor(readonly kv: KVStore) {}

  #decodeBlock(text: string, gc: GCContext | undefined): AllocationBlock {
    const b = decodeBlock(text);
    if (gc) garbageCollect(b, gc.cooldownSeconds, gc.now);
    return b;
  }

  async getBlock(cidr: CIDR, gc?: GCContext): Promise<Versioned<AllocationBlock> | undefined> {
    const kv = await this.kv.get(blockKey(cidr));
    return kv && { value: this.#decodeBlock(kv.value, gc), rev: kv.modRevision };
  }

  /** Every block of every family, in key order; undecodable values are skipped (and told to `skipped`). */
  async listBlocks(gc?: GCContext, skipped?: SkippedValue): Promise<Versioned<AllocationBlock>[]> {
    const { kvs } = await this.kv.list(BLOCK_PREFIX);
    const out: Versioned<AllocationBlock>[] = [];
    for (const kv of kvs) {
      if (!parseBlockKey(kv.key)) continue;
      try {
        out.push({ value: this.#decodeBlock(kv.value, gc), rev: kv.modRevision });
      } catch (err) {
        // A corrupt block is reported by `ipam check`; allocation just avoids it.
        skipped?.(kv.key, (err as Error).message);
      }
    }
    return out;
  }

  /**
   * Every block, each decoded only when first looked up: a claim's walk usually stops at the
   * first free CIDR after a few blocks, and decoding every block of a large pool (~10 kB of JSON
   * each) on every claim cost more than the rest of the claim.
   */
  async blockIndex(gc?: GCContext): Promise<BlockIndex> {
    const { kvs } = await this.kv.list(BLOCK_PREFIX);
    return new BlockIndex(kvs, (text) => this.#decodeBlock(text, gc));
  }

  /** The block a failed CAS write found, when the backend returned it with the conflict. */
  blockFromConflict(err: unknown, gc?: GCContext): Versioned<AllocationBlock> | undefined {
    if (!(err instanceof UpdateConflictError)) return undefined;
    const latest = err.latest as Partial<KeyValue> | undefined;
    if (typeof latest?.value !== "string" || typeof latest.modRevision !== "string") return undefined;
    try {
      return { value: this.#decodeBlock(latest.value, gc), rev: latest.modRevision };
    } catch {
      return undefined;
    }
  }

  createBlock(block: AllocationBlock): Promise<string> {
    return this.kv.create(blockKey(block.cidr), encodeBlock(block));
  }

  /** CAS write; bumps the block's sequence number first, as every Calico block write does. */
  updateBlock(block: AllocationBlock, rev: string): Promise<string> {
    block.sequenceNumber += 1n;
    return this.kv.update(blockKey(block.cidr), encodeBlock(block), rev);
  }

  /** CAS delete; a block that is already gone counts as deleted. */
  async deleteBlock(cidr: CIDR, rev: string): Promise<void> {
    try {
      await this.kv.delete(blockKey(cidr), rev);
    } catch (err) {
      if (!(err instanceof ResourceNotFoundError)) throw err;
    }
  }

  async getAffinity(owner: AffinityOwner, cidr: CIDR): Promise<Versioned<BlockAffinity> | undefined> {
    const kv = await this.kv.get(affinityKey(owner, cidr));
    return kv && { value: decodeAffinity(kv.value), rev: kv.modRevision };
  }

  createAffinity(owner: AffinityOwner, cidr: CIDR, state: AffinityState): Promise<string> {
    return this.kv.create(affinityKey(owner, cidr), encodeAffinity(state));
  }

  updateAffinity(owner: AffinityOwner, cidr: CIDR, state: AffinityState, rev: string): Promise<string> {
    return this.kv.update(affinityKey(owner, cidr), encodeAffinity(state), rev);
  }

  /** CAS delete (unconditional without `rev`); already gone is fine. */
  async deleteAffinity(owner: AffinityOwner, cidr: CIDR, rev?: string): Promise<void> {
    try {
      await this.kv.delete(affinityKey(owner, cidr), rev);
    } catch (err) {
      if (!(err instanceof ResourceNotFoundError)) throw err;
    }
  }

  async #listAffinities(prefix: string): Promise<AffinityEntry[]> {
    const { kvs } = await this.kv.list(prefix);
    const out: AffinityEntry[] = [];
    for (const kv of kvs) {
      const parsed = parseAffinityKey(kv.key);
      if (!parsed) continue;
      try {
        out.push({ ...parsed, value: decodeAffinity(kv.value), rev: kv.modRevision });
      } catch {
        // Unreadable affinity values are ignored, as Calico's list does.
      }
    }
    return out;
  }

  /** One owner's affinities in key order (the trailing `/` keeps `node1` from matching `node10`). */
  listAffinities(owner: AffinityOwner, family?: 4 | 6): Promise<AffinityEntry[]> {
    return this.#listAffinities(affinityPrefix(owner, family));
  }

  async listAllAffinities(): Promise<AffinityEntry[]> {
    const [hosts, virtual] = await Promise.all([
      this.#listAffinities(`${IPAM_ROOT}host/`),
      this.#listAffinities(`${IPAM_ROOT}virtual/`),
    ]);
    return [...hosts, ...virtual];
  }

  async getHandle(id: string): Promise<Versioned<IPAMHandle> | undefined> {
    const kv = await this.kv.get(handleKey(id));
    return kv && { value: decodeHandle(kv.value), rev: kv.modRevision };
  }

  async listHandles(skipped?: SkippedValue): Promise<HandleEntry[]> {
    const { kvs } = await this.kv.list(HANDLE_PREFIX);
    const out: HandleEntry[] = [];
    for (const kv of kvs) {
      try {
        out.push({
          id: kv.key.slice(HANDLE_PREFIX.length),
          value: decodeHandle(kv.value),
          rev: kv.modRevision,
        });
      } catch (err) {
        // `ipam check` reports it; to everything else the handle does not exist.
        skipped?.(kv.key, (err as Error).message);
      }
    }
    return out;
  }

  /** Adds `num` addresses in block `cidr` to a handle, creating it on first use. */
  incrementHandle(id: string, cidr: string, num: number): Promise<void> {
    // Most handles are new (one per workload), so try creating before reading.
    let tryCreate = true;
    return retryOnConflict(async () => {
      const h = tryCreate ? undefined : await this.getHandle(id);
      if (!h) {
        const fresh: IPAMHandle = { block: {}, deleted: false };
        incrementHandle(fresh, cidr, num);
        try {
          await this.kv.create(handleKey(id), encodeHandle(fresh));
        } catch (err) {
          if (!(err instanceof ResourceAlreadyExistsError)) throw err;
          tryCreate = false;
          throw new UpdateConflictError(handleKey(id));
        }
        return;
      }
      incrementHandle(h.value, cidr, num);
      await this.kv.update(handleKey(id), encodeHandle(h.value), h.rev);
    });
  }

  /**
   * Removes `num` addresses in block `cidr` from a handle, deleting the handle when nothing is
   * left. Returns a counting inconsistency for the caller to log; throws when the handle is missing.
   */
  decrementHandle(id: string, cidr: string, num: number): Promise<Error | undefined> {
    return retryOnConflict(async () => {
      const h = await this.getHandle(id);
      if (!h) throw new ResourceNotFoundError(handleKey(id));
      const problem = decrementHandle(h.value, cidr, num);
      if (handleIsEmpty(h.value)) await this.kv.delete(handleKey(id), h.rev);
      else await this.kv.update(handleKey(id), encodeHandle(h.value), h.rev);
      return problem;
    });
  }

  async deleteHandle(id: string, rev?: string): Promise<void> {
    try {
      await this.kv.delete(handleKey(id), rev);
    } catch (err) {
      if (!(err instanceof ResourceNotFoundError)) throw err;
    }
  }

  /** The v2 global config key, or undefined when it was never written. */
  async getConfig(): Promise<IPAMConfig | undefined> {
    const kv = await this.kv.get(CONFIG_KEY);
    return kv && decodeIPAMConfig(kv.value);
  }

  async putConfig(cfg: IPAMConfig): Promise<void> {
    await this.kv.put(CONFIG_KEY, encodeIPAMConfig(cfg));
  }

  /** Deletes the exact legacy `/calico/ipam/v2/host/<node>` marker if present. */
  async deleteIPAMHostMarker(key: string): Promise<void> {
    try {
      await this.kv.delete(key);
    } catch (err) {
      if (!(err instanceof ResourceNotFoundError)) throw err;
    }
  }
}
