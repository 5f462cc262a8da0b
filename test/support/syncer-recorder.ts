/** Records what a Syncer reports, for assertions. */
import type { SyncerCallbacks, SyncStatus, SyncUpdate } from "../../src/datastore/syncer/types.js";

export interface SyncRecorder extends SyncerCallbacks {
  statuses: SyncStatus[];
  updates: SyncUpdate[];
  errors: Array<{ source: string; error: Error }>;
  /** Status and updates interleaved, e.g. `status:InSync`, `new:<key>`. */
  timeline: string[];
  /** Updates received since the last call, as `type:key@revision`. */
  takeNew(): string[];
}

export function recordSyncer(): SyncRecorder {
  let taken = 0;
  const rec: SyncRecorder = {
    statuses: [],
    updates: [],
    errors: [],
    timeline: [],
    onStatus(status) {
      rec.statuses.push(status);
      rec.timeline.push(`status:${status}`);
    },
    onUpdates(updates) {
      for (const u of updates) {
        rec.updates.push(u);
        rec.timeline.push(`${u.type}:${u.key}`);
      }
    },
    onError(source, error) {
      rec.errors.push({ source, error });
    },
    takeNew() {
      const fresh = rec.updates.slice(taken).map((u) => `${u.type}:${u.key}@${u.revision}`);
      taken = rec.updates.length;
      return fresh;
    },
  };
  return rec;
}
