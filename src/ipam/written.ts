/**
 * Blocks this client wrote on the fast path, as it wrote them, with the revision of the write.
 * While a block's modRevision is still that revision its stored value is exactly this object's
 * encoding, so the next allocation need not read the block back and decode it (the block is the
 * largest value an allocation reads: a /26 with its attributes is ~10 kB). The transaction that
 * uses an entry is guarded on that modRevision, so an entry made stale by any other writer costs a
 * failed transaction and a normal read, never a wrong allocation.
 */
import type { AllocationBlock } from "./block.js";

export interface WrittenBlock {
  modRevision: string;
  block: AllocationBlock;
}

/** More blocks than a host normally owns; the oldest entry goes first. */
const LIMIT = 64;

export class WrittenBlocks {
  readonly #byKey = new Map<string, WrittenBlock>();

  /**
   * Removes and returns the entry for a block key. Taking it out means two allocations in flight
   * on one client never plan on the same object; the one that commits puts its result back.
   */
  take(key: string): WrittenBlock | undefined {
    const entry = this.#byKey.get(key);
    this.#byKey.delete(key);
    return entry;
  }

  put(key: string, modRevision: string, block: AllocationBlock): void {
    this.#byKey.delete(key);
    this.#byKey.set(key, { modRevision, block });
    if (this.#byKey.size > LIMIT) {
      const oldest = this.#byKey.keys().next().value;
      if (oldest !== undefined) this.#byKey.delete(oldest);
    }
  }

  get size(): number {
    return this.#byKey.size;
  }
}
