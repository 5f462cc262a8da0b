/** The syncer's vocabulary: what it watches, what it emits, and how it reports progress. */
import type { KeyValue } from "../kv.js";

export type SyncStatus = "WaitForDatastore" | "ResyncInProgress" | "InSync";

export type SyncUpdateType = "new" | "updated" | "deleted";

export interface SyncUpdate {
  /** The source's name, e.g. the resource kind `IPPool`. */
  source: string;
  /** The etcd key. */
  key: string;
  type: SyncUpdateType;
  /** Decoded value; null when deleted. */
  value: unknown;
  revision: string;
}

/**
 * One prefix to watch and how to turn its values into update values. Resource kinds and raw KV
 * prefixes (IPAM blocks, Felix status) are both sources.
 */
export interface SyncSource {
  name: string;
  prefix: string;
  /**
   * The value for a stored pair; undefined means "not one of ours, ignore the key". Throwing
   * marks the value undecodable: it is reported and treated as a deletion of the key.
   */
  decode(kv: KeyValue): unknown;
  /** Entries that exist without being stored (the default-allow profile), part of every list. */
  synthetic?: () => Array<{ key: string; value: unknown; revision: string }>;
}

export interface SyncerCallbacks {
  onStatus(status: SyncStatus): void;
  onUpdates(updates: SyncUpdate[]): void;
  /** Diagnostics only: list/watch failures and undecodable values. The syncer recovers by itself. */
  onError?(source: string, error: Error): void;
}

export interface SyncerOptions {
  /** Minimum time between two full lists of one source (Calico: 500 ms). */
  minResyncIntervalMs?: number;
  /** Delay before retrying a failed list (Calico: 1 s). */
  listRetryMs?: number;
  /** Delay before re-creating a watch that ended with an error. */
  watchRetryMs?: number;
  /** Consecutive watch errors without an event in between that force a full re-list (Calico: 5). */
  maxErrorsWithoutProgress?: number;
}

export const SYNCER_DEFAULTS: Required<SyncerOptions> = {
  minResyncIntervalMs: 500,
  listRetryMs: 1_000,
  watchRetryMs: 100,
  maxErrorsWithoutProgress: 5,
};
