/**
 * The syncer: one WatcherCache per source, merged into a single update stream with Calico's
 * status progression WaitForDatastore → ResyncInProgress → InSync (InSync once every source
 * has delivered its initial list).
 */
import type { KVStore } from "../kv.js";
import {
  SYNCER_DEFAULTS,
  type SyncerCallbacks,
  type SyncerOptions,
  type SyncSource,
  type SyncStatus,
} from "./types.js";
import { WatcherCache } from "./watcher-cache.js";

export class Syncer {
  private readonly caches: WatcherCache[];
  private status: SyncStatus | undefined;
  private pending: number;
  private started = false;
  private stopped = false;

  constructor(
    kv: KVStore,
    sources: readonly SyncSource[],
    private readonly callbacks: SyncerCallbacks,
    opts: SyncerOptions = {},
  ) {
    const settings = { ...SYNCER_DEFAULTS, ...opts };
    this.pending = sources.length;
    this.caches = sources.map(
      (source) =>
        new WatcherCache(kv, source, settings, {
          listed: () => this.setStatus("ResyncInProgress"),
          synced: () => {
            this.pending--;
            if (this.pending === 0) this.setStatus("InSync");
          },
          updates: (updates) => {
            if (!this.stopped) this.callbacks.onUpdates(updates);
          },
          error: (error) => this.callbacks.onError?.(source.name, error),
        }),
    );
  }

  /** Status only moves forward; a later resync of one source does not leave InSync. */
  private setStatus(status: SyncStatus): void {
    const order: SyncStatus[] = ["WaitForDatastore", "ResyncInProgress", "InSync"];
    if (this.stopped || (this.status && order.indexOf(status) <= order.indexOf(this.status))) return;
    if (status === "InSync" && this.status === "WaitForDatastore") this.setStatus("ResyncInProgress");
    this.status = status;
    this.callbacks.onStatus(status);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.setStatus("WaitForDatastore");
    if (this.caches.length === 0) this.setStatus("InSync");
    for (const cache of this.caches) cache.start();
  }

  /** Stops every watch and emits deletes for everything the syncer had delivered. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const deletes = (await Promise.all(this.caches.map((c) => c.stop()))).flat();
    this.stopped = true;
    if (deletes.length > 0) this.callbacks.onUpdates(deletes);
  }
}
