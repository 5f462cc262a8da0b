/** Helpers shared by datastore tests: polling assertions and watch collectors. */
import type { KVStore, KVWatchEvent } from "../../src/datastore/kv.js";

/** Retries `check` until it stops throwing, or rethrows its last failure after `timeoutMs`. */
export async function eventually(check: () => unknown, timeoutMs = 5_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

export interface CollectedWatch {
  events: KVWatchEvent[];
  errors: Error[];
  close(): Promise<void>;
}

export function collectWatch(kv: KVStore, prefix: string, afterRevision: string): CollectedWatch {
  const events: KVWatchEvent[] = [];
  const errors: Error[] = [];
  const watch = kv.watch(prefix, afterRevision, {
    onEvent: (e) => events.push(e),
    onError: (e) => errors.push(e),
  });
  return { events, errors, close: () => watch.close() };
}
