/**
 * IPAM errors. Messages follow Calico's texts where users see them (CNI results, calicoctl).
 * Datastore outcomes (does not exist / already exists / update conflict) reuse the datastore's
 * typed errors so callers handle one family of errors.
 */
import {
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  UpdateConflictError,
} from "../datastore/errors.js";

export class IPAMError extends Error {
  override name = "IPAMError";
}

/** No enabled pool of the family qualifies (or none allows the intended use). */
export class NoQualifiedPoolError extends IPAMError {
  override name = "NoQualifiedPoolError";
}

/** The host owns as many blocks as allowed and its affine blocks are full. */
export class BlockLimitError extends IPAMError {
  override name = "BlockLimitError";
  constructor(readonly limit: number) {
    super(`Need to allocate an IPAM block but could not - limit of ${limit} blocks reached for this node`);
  }
}

/** Every block CIDR in the eligible pools is taken (triggers borrowing where allowed). */
export class NoFreeBlocksError extends IPAMError {
  override name = "NoFreeBlocksError";
  constructor() {
    super("no free blocks");
  }
}

/** Another owner won the race to create a block we tried to claim. */
export class BlockClaimConflictError extends IPAMError {
  override name = "BlockClaimConflictError";
  constructor(
    readonly cidr: string,
    readonly affinity: string | null,
  ) {
    super(`${cidr} already claimed by ${affinity ?? "<none>"}`);
  }
}

/** Our affinity points at a block that belongs to someone else; the affinity was removed. */
export class StaleAffinityError extends IPAMError {
  override name = "StaleAffinityError";
}

export class BlockNotEmptyError extends IPAMError {
  override name = "BlockNotEmptyError";
  constructor(readonly cidr: string) {
    super(`block '${cidr}' is not empty`);
  }
}

/** The block was written since the caller read it (reclaim of another host's empty block). */
export class BlockChangedError extends IPAMError {
  override name = "BlockChangedError";
  constructor() {
    super("IPAM block updated since we last read it");
  }
}

export class MaxRetriesError extends IPAMError {
  override name = "MaxRetriesError";
  constructor() {
    super("Max retries hit - excessive concurrent IPAM requests");
  }
}

export class IPInCooldownError extends IPAMError {
  override name = "IPInCooldownError";
  constructor(readonly ip: string) {
    super(`IP ${ip} is in cooldown`);
  }
}

/** A block's affinity does not allow the requested allocation (strict affinity). */
export class AffinityMismatchError extends IPAMError {
  override name = "AffinityMismatchError";
}

/** A request that cannot be valid (bad address, wrong family, bad config combination). */
export class InvalidIPAMRequestError extends IPAMError {
  override name = "InvalidIPAMRequestError";
}

/** AssignIP of an address that is already allocated. */
export class AddressInUseError extends ResourceAlreadyExistsError {
  override name = "AddressInUseError";
  constructor(readonly ip: string) {
    super(ip);
    this.message = `resource already exists: ${ip} with error: Address already assigned in block`;
  }
}

/** The address is not allocated (or its block does not exist). */
export class AddressNotAssignedError extends ResourceNotFoundError {
  override name = "AddressNotAssignedError";
  constructor(readonly ip: string) {
    super(ip);
    this.message = `${ip} is not assigned`;
  }
}

/** A release carried a sequence number or handle that no longer matches: the address was reused. */
export class ReleaseMismatchError extends UpdateConflictError {
  override name = "ReleaseMismatchError";
  constructor(identifier: string, reason: string) {
    super(identifier);
    this.message = `update conflict: ${identifier}: ${reason}`;
  }
}
