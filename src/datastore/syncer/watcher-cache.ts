/**
 * One source's list+watch loop. It keeps the revision of every key it has emitted, so a re-list
 * emits only what changed (and synthesises deletes for keys that vanished), and it resumes a
 * dropped watch from the last revision it saw so nothing is delivered twice.
 */
import { DatastoreError, RevisionCompactedError } from "../errors.js";
import type { KeyValue, KVStore, KVWatch, KVWatchEvent } from "../kv.js";
import type { SyncerOptions, SyncSource, SyncUpdate } from "./types.js";

interface Held {
  revision: string;
}

export interface CacheHooks {
  /** A list succeeded (the first one moves the syncer out of WaitForDatastore). */
  listed(): void;
  /** The initial list has been emitted. */
  synced(): void;
  updates(updates: SyncUpdate[]): void;
  error(error: Error): void;
}

export class WatcherCache {
  private readonly held = new Map<string, Held>();
  private revision: string | undefined;
  private watch: KVWatch | undefined;
  /** Bumped for every watch so callbacks of a replaced watch are ignored. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastResync = Number.NEGATIVE_INFINITY;
  private errorsWithoutProgress = 0;
  private isSynced = false;
  private stopped = false;

  constructor(
    private readonly kv: KVStore,
    private readonly source: SyncSource,
    private readonly opts: Required<SyncerOptions>,
    private readonly hooks: CacheHooks,
  ) {}

  start(): void {
    this.later(() => this.resync(), 0);
  }

  private later(run: () => void | Promise<void>, delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) void run();
    }, delayMs);
  }

  private decode(kv: KeyValue): { ok: true; value: unknown } | { ok: false } {
    try {
      const value = this.source.decode(kv);
      return value === undefined ? { ok: false } : { ok: true, value };
    } catch (err) {
      this.hooks.error(err instanceof Error ? err : new DatastoreError(String(err)));
      return { ok: false };
    }
  }

  /** A full list: emit what is new or changed, and deletes for what is gone. */
  private async resync(): Promise<void> {
    const wait = this.lastResync + this.opts.minResyncIntervalMs - Date.now();
    if (wait > 0) {
      this.later(() => this.resync(), wait);
      return;
    }
    this.lastResync = Date.now();
    let listed: { kvs: KeyValue[]; revision: string };
    try {
      listed = await this.kv.list(this.source.prefix);
    } catch (err) {
      if (this.stopped) return;
      this.hooks.error(err as Error);
      this.later(() => this.resync(), this.opts.listRetryMs);
      return;
    }
    if (this.stopped) return;
    this.hooks.listed();
    const updates: SyncUpdate[] = [];
    const seen = new Set<string>();
    const offer = (key: string, value: unknown, revision: string) => {
      seen.add(key);
      const old = this.held.get(key);
      if (old?.revision === revision) return;
      this.held.set(key, { revision });
      updates.push({ source: this.source.name, key, type: old ? "updated" : "new", value, revision });
    };
    for (const kv of listed.kvs) {
      const decoded = this.decode(kv);
      if (decoded.ok) offer(kv.key, decoded.value, kv.modRevision);
    }
    for (const extra of this.source.synthetic?.() ?? []) offer(extra.key, extra.value, extra.revision);
    for (const key of [...this.held.keys()]) {
      if (seen.has(key)) continue;
      this.held.delete(key);
      updates.push({
        source: this.source.name,
        key,
        type: "deleted",
        value: null,
        revision: listed.revision,
      });
    }
    this.revision = listed.revision;
    this.errorsWithoutProgress = 0;
    if (updates.length > 0) this.hooks.updates(updates);
    if (!this.isSynced) {
      this.isSynced = true;
      this.hooks.synced();
    }
    this.startWatch();
  }

  private startWatch(): void {
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.stopped;
    this.watch = this.kv.watch(this.source.prefix, this.revision!, {
      onEvent: (event) => {
        if (current()) this.apply(event);
      },
      onError: (error) => {
        if (current()) this.watchFailed(error);
      },
    });
  }

  private apply(event: KVWatchEvent): void {
    this.errorsWithoutProgress = 0;
    const key = event.type === "put" ? event.kv.key : event.key;
    const revision = event.type === "put" ? event.kv.modRevision : event.revision;
    this.revision = revision;
    const decoded = event.type === "put" ? this.decode(event.kv) : { ok: false as const };
    const old = this.held.get(key);
    if (decoded.ok) {
      this.held.set(key, { revision });
      this.hooks.updates([
        { source: this.source.name, key, type: old ? "updated" : "new", value: decoded.value, revision },
      ]);
    } else if (old) {
      // Deleted, or rewritten with a value we cannot use: either way consumers must drop it.
      this.held.delete(key);
      this.hooks.updates([{ source: this.source.name, key, type: "deleted", value: null, revision }]);
    }
  }

  private watchFailed(error: Error): void {
    this.hooks.error(error);
    this.generation++;
    void this.watch?.close();
    this.watch = undefined;
    this.errorsWithoutProgress++;
    if (
      error instanceof RevisionCompactedError ||
      this.errorsWithoutProgress >= this.opts.maxErrorsWithoutProgress
    ) {
      this.later(() => this.resync(), 0);
    } else {
      this.later(() => this.startWatch(), this.opts.watchRetryMs);
    }
  }

  /** Stops watching and returns deletes for every key still held. */
  async stop(): Promise<SyncUpdate[]> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.generation++;
    await this.watch?.close();
    this.watch = undefined;
    const revision = this.revision ?? "0";
    const deletes = [...this.held.keys()].map(
      (key): SyncUpdate => ({ source: this.source.name, key, type: "deleted", value: null, revision }),
    );
    this.held.clear();
    return deletes;
  }
}
