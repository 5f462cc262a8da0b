/**
 * The raw key/value contract every backend implements (etcd v3, and an in-memory store for unit
 * tests). Revisions are etcd's int64 revisions carried as decimal strings so they never lose
 * precision in a JS number.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the last write to this key. */
  modRevision: string;
  /** Revision at which the key was created. */
  createRevision: string;
  /** Number of writes since creation (1 = just created). */
  version: string;
}

export interface KVListResult {
  kvs: KeyValue[];
  /** Store revision the list was read at. */
  revision: string;
}

export type KVWatchEvent =
  | { type: "put"; kv: KeyValue; prev?: KeyValue }
  | { type: "delete"; key: string; revision: string; prev?: KeyValue };

export interface KVWatchListener {
  onEvent(event: KVWatchEvent): void;
  /** The watch has ended with an error (compaction, lost connection); no more events follow. */
  onError(error: Error): void;
}

export interface KVWatch {
  close(): Promise<void>;
}

/** One read of a batch: a single key, or every key under a prefix. */
export type KVRead = { key: string } | { prefix: string };

export interface KVReadManyResult {
  /** Per read, in order: the pairs found (at most one for a key read). */
  results: KeyValue[][];
  /** The one store revision every read saw. */
  revision: string;
}

/**
 * A commit guard: the key's modRevision must equal this ("0" means the key must be absent); or,
 * with `prefix`, no key under it may have been written after revision `notModifiedAfter` (a key
 * created there since fails it; one deleted since does not, so guard the known keys as well).
 */
export type KVCondition = { key: string; modRevision: string } | { prefix: string; notModifiedAfter: string };

export type KVWrite = { type: "put"; key: string; value: string } | { type: "delete"; key: string };

export interface KVCommitResult {
  /** False when a condition failed; then nothing was written. */
  succeeded: boolean;
  /** Revision of the writes (or the store's revision when they did not happen). */
  revision: string;
  /** When a condition failed and the commit was given reads: their results, in the same transaction. */
  read?: KVReadManyResult;
}

/**
 * Several reads as one consistent snapshot, and several writes as one all-or-nothing commit: each
 * is a single round trip (one etcd transaction), which is what lets IPAM's common allocation be
 * one read and one write.
 */
export interface KVBatch {
  readMany(reads: readonly KVRead[]): Promise<KVReadManyResult>;
  /**
   * The writes if every condition holds; otherwise nothing is written and `orRead`, if given, is
   * read instead (so an optimistic writer learns the current state in the same round trip).
   */
  commit(
    conditions: readonly KVCondition[],
    writes: readonly KVWrite[],
    orRead?: readonly KVRead[],
  ): Promise<KVCommitResult>;
}

export interface KVStore extends KVBatch {
  get(key: string): Promise<KeyValue | undefined>;
  /** Every key starting with `prefix`, in key order, optionally as of an earlier revision. */
  list(prefix: string, opts?: { revision?: string }): Promise<KVListResult>;
  /** Write only if the key is absent; throws ResourceAlreadyExistsError. Returns the new revision. */
  create(key: string, value: string, opts?: { ttlSeconds?: number }): Promise<string>;
  /** Write only if the key's modRevision equals `modRevision`; throws ResourceNotFoundError / UpdateConflictError. */
  update(key: string, value: string, modRevision: string, opts?: { ttlSeconds?: number }): Promise<string>;
  /** Unconditional write. */
  put(key: string, value: string, opts?: { ttlSeconds?: number }): Promise<string>;
  /** Delete, optionally only at `modRevision`; returns the deleted pair. */
  delete(key: string, modRevision?: string): Promise<KeyValue>;
  /** Events for keys under `prefix` with revision > `afterRevision`. */
  watch(prefix: string, afterRevision: string, listener: KVWatchListener): KVWatch;
  close(): Promise<void>;
}
