/**
 * What a host's last fast-path read saw of everything but its blocks: the inventory (pools,
 * reservations, the Node, the IPAM configurations) and the affinities of its hinted blocks, with
 * the revision of that read. With this and the blocks it wrote itself (WrittenBlocks), a client
 * can allocate in one transaction guarded on all of it: the keys it read must be unchanged and no
 * key may have appeared under the pool and reservation prefixes since. A view is only ever read,
 * never changed in place; a newer read replaces it.
 */
import type { KeyValue, KVCondition, KVRead } from "../datastore/kv.js";

export interface HostView {
  /** The store revision of the read. */
  revision: string;
  /** The inventory reads and the v2 config read, and their results in the same order. */
  reads: KVRead[];
  results: KeyValue[][];
  /** Affinity key → the affinity as read. */
  affinities: Map<string, KeyValue>;
}

/** More hosts than one client allocates for; the oldest view goes first. */
const LIMIT = 64;

export class HostViews {
  readonly #byHost = new Map<string, HostView>();

  get(host: string): HostView | undefined {
    return this.#byHost.get(host);
  }

  set(host: string, view: HostView): void {
    this.#byHost.delete(host);
    this.#byHost.set(host, view);
    if (this.#byHost.size > LIMIT) {
      const oldest = this.#byHost.keys().next().value;
      if (oldest !== undefined) this.#byHost.delete(oldest);
    }
  }

  forget(host: string): void {
    this.#byHost.delete(host);
  }
}

/**
 * Guards that hold exactly while the view's reads would return the same: each key read at its
 * modRevision (absent ones absent), each prefix with no key written since the view's revision and
 * every key found under it still at its modRevision (so a deletion fails the guard too).
 */
export function viewGuards(view: HostView): KVCondition[] {
  const out: KVCondition[] = [];
  view.reads.forEach((read, i) => {
    const found = view.results[i] ?? [];
    if ("key" in read) {
      out.push({ key: read.key, modRevision: found[0]?.modRevision ?? "0" });
      return;
    }
    out.push({ prefix: read.prefix, notModifiedAfter: view.revision });
    for (const kv of found) out.push({ key: kv.key, modRevision: kv.modRevision });
  });
  return out;
}
