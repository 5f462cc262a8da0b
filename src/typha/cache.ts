/**
 * The snapshot cache of one syncer type: the current state (key → serialised KV) and a singly
 * linked list of breadcrumbs, each holding the deltas of one batch, the sync status after it, a
 * sequence number and a timestamp. A client only needs "my current breadcrumb": it walks the list
 * at its own pace, so a slow client never holds up the cache or the other clients, and crumbs
 * nobody points at any more are garbage collected. Updates whose value (ignoring the revision)
 * equals what is stored are dropped, as Calico's cache does.
 */
import type { SyncStatus, SyncUpdate } from "../datastore/index.js";
import { frameText, kvsText, STATUS_CODE, serializeUpdate } from "./proto.js";

export interface Entry {
  key: string;
  source: string;
  /** The KV's wire text. */
  text: string;
  /** The value's JSON without resourceVersion, for no-op detection. */
  valueText: string;
}

export interface Crumb {
  readonly seq: number;
  /** When the crumb was published (ms since epoch). */
  readonly time: number;
  readonly status: SyncStatus;
  readonly deltas: readonly string[];
  next?: Crumb;
  /** The crumb's deltas as one KVs frame, made on first use and shared by every client. */
  frame?: Buffer;
}

export interface Snapshot {
  /** The crumb the snapshot corresponds to; the client continues from its `next`. */
  crumb: Crumb;
  frames: Buffer[];
  kvs: number;
  rawBytes: number;
  compressedBytes: number;
  madeAt: number;
}

export interface CacheStats {
  updatesTotal: number;
  updatesSkipped: number;
  snapshotsGenerated: number;
  snapshotsReused: number;
}

export interface CacheOptions {
  /** Updates per breadcrumb (Calico's SnapshotCacheMaxBatchSize). */
  maxBatchSize?: number;
  /** KVs per snapshot message. */
  snapshotMessageSize?: number;
  /** How long a pre-encoded snapshot is reused for new clients (Calico: 1 s). */
  snapshotReuseMs?: number;
  now?: () => number;
  /** Called for every published crumb (metrics). */
  onCrumb?(crumb: Crumb): void;
}

export class SnapshotCache {
  readonly #state = new Map<string, Entry>();
  #head: Crumb;
  #waiters: Array<() => void> = [];
  /** Pre-encoded snapshots, compressed and not. */
  readonly #snapshots = new Map<boolean, Snapshot>();
  readonly #opts: Required<Omit<CacheOptions, "onCrumb">> & Pick<CacheOptions, "onCrumb">;
  readonly stats: CacheStats = {
    updatesTotal: 0,
    updatesSkipped: 0,
    snapshotsGenerated: 0,
    snapshotsReused: 0,
  };

  constructor(
    readonly syncerType: string,
    opts: CacheOptions = {},
  ) {
    this.#opts = {
      maxBatchSize: opts.maxBatchSize ?? 100,
      snapshotMessageSize: opts.snapshotMessageSize ?? 1000,
      snapshotReuseMs: opts.snapshotReuseMs ?? 1_000,
      now: opts.now ?? Date.now,
      onCrumb: opts.onCrumb,
    };
    this.#head = { seq: 0, time: this.#opts.now(), status: "WaitForDatastore", deltas: [] };
  }

  get head(): Crumb {
    return this.#head;
  }

  get size(): number {
    return this.#state.size;
  }

  /** Keys currently held from one source (e.g. `Node`, for the connection target). */
  countSource(source: string): number {
    let n = 0;
    for (const e of this.#state.values()) if (e.source === source) n++;
    return n;
  }

  get status(): SyncStatus {
    return this.#head.status;
  }

  onStatus(status: SyncStatus): void {
    if (status === this.#head.status) return;
    this.#publish(status, []);
  }

  onUpdates(updates: readonly SyncUpdate[]): void {
    let batch: string[] = [];
    for (const u of updates) {
      this.stats.updatesTotal++;
      const old = this.#state.get(u.key);
      if (u.type === "deleted") {
        if (!old) {
          this.stats.updatesSkipped++;
          continue;
        }
        this.#state.delete(u.key);
        batch.push(serializeUpdate(u).text);
      } else {
        const { text, valueText } = serializeUpdate({ ...u, type: old ? "updated" : "new" });
        if (old && old.valueText === valueText && old.source === u.source) {
          this.stats.updatesSkipped++;
          continue;
        }
        this.#state.set(u.key, { key: u.key, source: u.source, text, valueText });
        batch.push(text);
      }
      if (batch.length >= this.#opts.maxBatchSize) {
        this.#publish(this.#head.status, batch);
        batch = [];
      }
    }
    if (batch.length > 0) this.#publish(this.#head.status, batch);
  }

  #publish(status: SyncStatus, deltas: string[]): void {
    const crumb: Crumb = { seq: this.#head.seq + 1, time: this.#opts.now(), status, deltas };
    this.#head.next = crumb;
    this.#head = crumb;
    this.#opts.onCrumb?.(crumb);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once `crumb` has a successor (immediately if it has one). */
  next(crumb: Crumb): Promise<Crumb> | Crumb {
    if (crumb.next) return crumb.next;
    return new Promise((resolve) => {
      this.#waiters.push(() => resolve(crumb.next as Crumb));
    });
  }

  /**
   * The current state as ready-to-send frames, in key order. Shared by every client that connects
   * while it is fresh: the client then catches up from the snapshot's crumb through the list.
   */
  snapshot(compress: boolean): { snapshot: Snapshot; reused: boolean } {
    const now = this.#opts.now();
    const cached = this.#snapshots.get(compress);
    if (cached && now - cached.madeAt < this.#opts.snapshotReuseMs) {
      this.stats.snapshotsReused++;
      return { snapshot: cached, reused: true };
    }
    const keys = [...this.#state.keys()].sort();
    const frames: Buffer[] = [];
    let rawBytes = 0;
    let compressedBytes = 0;
    for (let i = 0; i < keys.length; i += this.#opts.snapshotMessageSize) {
      const texts = keys
        .slice(i, i + this.#opts.snapshotMessageSize)
        .map((k) => this.#state.get(k)?.text ?? "");
      const text = kvsText(texts);
      const f = frameText(text, compress);
      rawBytes += Buffer.byteLength(text);
      compressedBytes += f.length;
      frames.push(f);
    }
    const snapshot: Snapshot = {
      crumb: this.#head,
      frames,
      kvs: keys.length,
      rawBytes,
      compressedBytes,
      madeAt: now,
    };
    this.#snapshots.set(compress, snapshot);
    this.stats.snapshotsGenerated++;
    return { snapshot, reused: false };
  }

  /** The frame of one crumb's deltas (and none when it only changed the status). */
  static crumbFrame(crumb: Crumb): Buffer | undefined {
    if (crumb.deltas.length === 0) return undefined;
    crumb.frame ??= frameText(kvsText(crumb.deltas));
    return crumb.frame;
  }

  static statusFrame(status: SyncStatus): Buffer {
    return frameText(`{"type":"SyncStatus","syncStatus":${STATUS_CODE[status]}}`);
  }
}
