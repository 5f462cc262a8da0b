/**
 * Block ownership: the two-phase claim (pending affinity → create block → confirmed affinity),
 * using an existing affinity (repairing crashed claims and fencing off reclaimers), and
 * releasing an owner's affinity to a block. Every step is one CAS write; callers retry on
 * UpdateConflictError.
 */
import {
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  UpdateConflictError,
} from "../datastore/errors.js";
import { type CIDR, formatCIDR } from "../lib/net.js";
import { type BlockAffinity, isConfirmed } from "./affinity.js";
import { type AllocationBlock, initialSequenceNumber, isEmpty, newBlock } from "./block.js";
import type { IPAMContext } from "./context.js";
import {
  BlockChangedError,
  BlockClaimConflictError,
  BlockNotEmptyError,
  StaleAffinityError,
} from "./errors.js";
import { type AffinityOwner, affinityKey, blockKey, ownerString } from "./keys.js";
import { DATASTORE_RETRIES, type GCContext, type Versioned } from "./store.js";

export interface ReleaseAffinityOptions {
  requireEmpty?: boolean;
  /** Release only if the block is still at this sequence number (reclaiming someone's empty block). */
  requiredSequenceNumber?: bigint;
}

export class BlockClaims {
  constructor(readonly ctx: IPAMContext) {}

  get #store() {
    return this.ctx.store;
  }

  /** Our affinity for `cidr` in state pending, creating it if needed; a confirmed one is returned as is. */
  async pendingAffinity(owner: AffinityOwner, cidr: CIDR): Promise<Versioned<BlockAffinity>> {
    try {
      const rev = await this.#store.createAffinity(owner, cidr, "pending");
      return { value: { state: "pending", deleted: false }, rev };
    } catch (err) {
      if (!(err instanceof ResourceAlreadyExistsError)) throw err;
    }
    const existing = await this.#store.getAffinity(owner, cidr);
    if (!existing) throw new UpdateConflictError(affinityKey(owner, cidr));
    if (isConfirmed(existing.value)) return existing;
    try {
      const rev = await this.#store.updateAffinity(owner, cidr, "pending", existing.rev);
      return { value: { state: "pending", deleted: false }, rev };
    } catch (err) {
      // A sibling process on this host withdrew its pending affinity between our read and our
      // write (it lost the block): a conflict like any other, so the caller looks again.
      if (err instanceof ResourceNotFoundError) throw new UpdateConflictError(affinityKey(owner, cidr));
      throw err;
    }
  }

  /**
   * Confirms our affinity once the block exists and is ours. Sibling processes on this host may
   * rewrite it to pending meanwhile; since the block is already ours, confirming over their
   * pending write is right. Any other state (a release in progress) ends the attempt.
   */
  async #confirm(owner: AffinityOwner, cidr: CIDR, affinity: Versioned<BlockAffinity>): Promise<void> {
    let current: Versioned<BlockAffinity> | undefined = affinity;
    for (let i = 0; i < DATASTORE_RETRIES; i++) {
      if (current?.value.state !== "pending") break;
      try {
        await this.#store.updateAffinity(owner, cidr, "confirmed", current.rev);
        return;
      } catch (err) {
        if (!(err instanceof UpdateConflictError)) throw err;
      }
      current = await this.#store.getAffinity(owner, cidr);
    }
    if (!current || !isConfirmed(current.value)) throw new UpdateConflictError(affinityKey(owner, cidr));
  }

  /**
   * Creates the block for a pending affinity and confirms the affinity. If the block already
   * exists and is ours (another process here won), confirm and use it; if it is someone else's,
   * withdraw our pending affinity and report the conflict.
   */
  async claimBlock(
    owner: AffinityOwner,
    cidr: CIDR,
    affinity: Versioned<BlockAffinity>,
    gc: GCContext,
  ): Promise<Versioned<AllocationBlock>> {
    const now = this.ctx.clock();
    const block = newBlock(cidr, ownerString(owner), now, initialSequenceNumber(now));
    try {
      const rev = await this.#store.createBlock(block);
      await this.#confirm(owner, cidr, affinity);
      return { value: block, rev };
    } catch (err) {
      if (!(err instanceof ResourceAlreadyExistsError)) throw err;
    }
    const existing = await this.#store.getBlock(cidr, gc);
    if (!existing) throw new UpdateConflictError(blockKey(cidr));
    if (existing.value.affinity === ownerString(owner)) {
      await this.#confirm(owner, cidr, affinity);
      return existing;
    }
    try {
      await this.#store.deleteAffinity(owner, cidr, affinity.rev);
    } catch (err) {
      this.ctx.log.warn(`failed to withdraw pending affinity for ${formatCIDR(cidr)}: ${String(err)}`);
    }
    throw new BlockClaimConflictError(formatCIDR(cidr), existing.value.affinity);
  }

  /** The block behind one of our affinities, finishing an interrupted claim if needed. */
  async blockFromAffinity(
    owner: AffinityOwner,
    cidr: CIDR,
    affinity: Versioned<BlockAffinity>,
    gc: GCContext,
    /** The block as read alongside the affinity, to save a round trip. */
    preRead?: { block: Versioned<AllocationBlock> | undefined },
  ): Promise<Versioned<AllocationBlock>> {
    let b = preRead?.block;
    // Only a block read after the affinity may justify repairing or deleting that affinity.
    if (!preRead || b?.value.affinity !== ownerString(owner)) b = await this.#store.getBlock(cidr, gc);
    if (!b) {
      // The owner crashed between the affinity and the block: finish the claim.
      const rev = await this.#store.updateAffinity(owner, cidr, "pending", affinity.rev);
      return this.claimBlock(owner, cidr, { value: { state: "pending", deleted: false }, rev }, gc);
    }
    if (b.value.affinity !== ownerString(owner)) {
      await this.#store.deleteAffinity(owner, cidr, affinity.rev);
      throw new StaleAffinityError(
        `affinity for ${formatCIDR(cidr)} is stale: block belongs to ${b.value.affinity}`,
      );
    }
    if (!isConfirmed(affinity.value)) {
      // Pending or pendingDeletion: take it back, and rewrite the block so that a concurrent
      // reclaimer's CAS delete (made against the revision it read) fails.
      const rev = await this.#store.updateAffinity(owner, cidr, "pending", affinity.rev);
      b.rev = await this.#store.updateBlock(b.value, b.rev);
      await this.#store.updateAffinity(owner, cidr, "confirmed", rev);
    }
    return b;
  }

  /**
   * Gives up `owner`'s affinity to a block: an empty block is deleted; a non-empty one survives
   * unowned (its addresses stay allocated and can only be borrowed).
   */
  async releaseBlockAffinity(
    owner: AffinityOwner,
    cidr: CIDR,
    gc: GCContext,
    opts: ReleaseAffinityOptions = {},
  ): Promise<void> {
    const aff = await this.#store.getAffinity(owner, cidr);
    if (!aff) throw new ResourceNotFoundError(affinityKey(owner, cidr));
    const b = await this.#store.getBlock(cidr, gc);
    if (!b) throw new ResourceNotFoundError(blockKey(cidr));
    if (opts.requiredSequenceNumber !== undefined && b.value.sequenceNumber !== opts.requiredSequenceNumber) {
      throw new BlockChangedError();
    }
    if (b.value.affinity !== ownerString(owner)) {
      await this.#store.deleteAffinity(owner, cidr, aff.rev);
      throw new BlockClaimConflictError(formatCIDR(cidr), b.value.affinity);
    }
    const empty = isEmpty(b.value);
    if (opts.requireEmpty && !empty) throw new BlockNotEmptyError(formatCIDR(cidr));
    const rev = await this.#store.updateAffinity(owner, cidr, "pendingDeletion", aff.rev);
    if (empty) {
      await this.#store.deleteBlock(cidr, b.rev);
    } else {
      b.value.affinity = null;
      delete b.value.affinityClaimTime;
      await this.#store.updateBlock(b.value, b.rev);
    }
    await this.#store.deleteAffinity(owner, cidr, rev);
  }
}

/** Errors that mean "this block is not ours to release" rather than a failure. */
export function isIgnorableReleaseError(err: unknown, notEmptyIsFine: boolean): boolean {
  return (
    err instanceof BlockClaimConflictError ||
    err instanceof ResourceNotFoundError ||
    (notEmptyIsFine && err instanceof BlockNotEmptyError)
  );
}
