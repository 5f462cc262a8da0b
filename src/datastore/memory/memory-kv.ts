/**
 * An in-memory MVCC KVStore with etcd's semantics: one global revision counter, per-key
 * create/mod revision and version, history for reads and watches at past revisions, compaction,
 * and TTL. It backs unit tests of the code above the datastore and passes the same contract
 * tests as EtcdKV.
 */
import {
  DatastoreError,
  InvalidRequestError,
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  RevisionCompactedError,
  UpdateConflictError,
} from "../errors.js";
import type {
  KeyValue,
  KVCommitResult,
  KVCondition,
  KVListResult,
  KVRead,
  KVReadManyResult,
  KVStore,
  KVWatch,
  KVWatchEvent,
  KVWatchListener,
  KVWrite,
} from "../kv.js";
import { parseRevision, requirePositiveRevision } from "../revision.js";
import { MemoryWatch } from "./memory-watch.js";

/** One write to a key: its value, or a tombstone. */
interface Generation {
  revision: bigint;
  kv?: KeyValue;
}

interface LoggedEvent {
  revision: bigint;
  key: string;
  event: KVWatchEvent;
}

export class MemoryKV implements KVStore {
  /** etcd's first revision; the first write makes it 2. */
  private revision = 1n;
  private compacted = 0n;
  /** Every key's writes, oldest first, back to the compaction point. */
  private readonly history = new Map<string, Generation[]>();
  private log: LoggedEvent[] = [];
  private readonly watches = new Set<MemoryWatch>();
  private readonly expiries = new Map<string, NodeJS.Timeout>();
  private closed = false;

  private check(): void {
    if (this.closed) throw new DatastoreError("memory datastore is closed");
  }

  private current(key: string): KeyValue | undefined {
    const gens = this.history.get(key);
    return gens?.[gens.length - 1]?.kv;
  }

  private record(key: string, gen: Generation, event: KVWatchEvent): void {
    const gens = this.history.get(key) ?? [];
    gens.push(gen);
    this.history.set(key, gens);
    const logged = { revision: gen.revision, key, event };
    this.log.push(logged);
    for (const watch of this.watches) watch.offer(logged.key, logged.event);
  }

  private write(key: string, value: string, ttlSeconds?: number): string {
    this.revision += 1n;
    this.writeAt(key, value, this.revision, ttlSeconds);
    return this.revision.toString();
  }

  /** A put at `revision`; several writes of one commit share a revision, as in etcd. */
  private writeAt(key: string, value: string, revision: bigint, ttlSeconds?: number): void {
    const prev = this.current(key);
    const rev = revision.toString();
    const kv: KeyValue = {
      key,
      value,
      modRevision: rev,
      createRevision: prev ? prev.createRevision : rev,
      version: prev ? (BigInt(prev.version) + 1n).toString() : "1",
    };
    this.record(key, { revision, kv }, prev ? { type: "put", kv, prev } : { type: "put", kv });
    this.setExpiry(key, ttlSeconds);
  }

  private remove(key: string, prev: KeyValue): void {
    this.revision += 1n;
    this.removeAt(key, prev, this.revision);
  }

  private removeAt(key: string, prev: KeyValue, revision: bigint): void {
    this.record(key, { revision }, { type: "delete", key, revision: revision.toString(), prev });
    this.setExpiry(key, undefined);
  }

  /** A write without a TTL detaches the key from any earlier lease, as in etcd. */
  private setExpiry(key: string, ttlSeconds: number | undefined): void {
    const existing = this.expiries.get(key);
    if (existing) clearTimeout(existing);
    this.expiries.delete(key);
    if (ttlSeconds === undefined) return;
    const timer = setTimeout(() => {
      this.expiries.delete(key);
      const prev = this.current(key);
      if (prev && !this.closed) this.remove(key, prev);
    }, ttlSeconds * 1000);
    timer.unref();
    this.expiries.set(key, timer);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.check();
    const kv = this.current(key);
    return kv ? { ...kv } : undefined;
  }

  async list(prefix: string, opts: { revision?: string } = {}): Promise<KVListResult> {
    this.check();
    const at = opts.revision === undefined ? this.revision : parseRevision(opts.revision);
    if (at > this.revision) {
      throw new InvalidRequestError(`revision ${opts.revision} is newer than the datastore's revision`);
    }
    // etcd treats revision 0 as "latest".
    const target = at <= 0n ? this.revision : at;
    if (target < this.compacted) throw new RevisionCompactedError(target.toString());
    const kvs: KeyValue[] = [];
    for (const [key, gens] of this.history) {
      if (!key.startsWith(prefix)) continue;
      const gen = latestAt(gens, target);
      if (gen?.kv) kvs.push({ ...gen.kv });
    }
    kvs.sort((a, b) => compareKeys(a.key, b.key));
    return { kvs, revision: this.revision.toString() };
  }

  async create(key: string, value: string, opts: { ttlSeconds?: number } = {}): Promise<string> {
    this.check();
    const existing = this.current(key);
    if (existing) throw new ResourceAlreadyExistsError(key, { ...existing });
    return this.write(key, value, opts.ttlSeconds);
  }

  async update(
    key: string,
    value: string,
    modRevision: string,
    opts: { ttlSeconds?: number } = {},
  ): Promise<string> {
    this.check();
    requirePositiveRevision(modRevision);
    this.guard(key, modRevision);
    return this.write(key, value, opts.ttlSeconds);
  }

  async put(key: string, value: string, opts: { ttlSeconds?: number } = {}): Promise<string> {
    this.check();
    return this.write(key, value, opts.ttlSeconds);
  }

  async delete(key: string, modRevision?: string): Promise<KeyValue> {
    this.check();
    if (modRevision !== undefined) requirePositiveRevision(modRevision);
    const prev = modRevision === undefined ? this.current(key) : this.guard(key, modRevision);
    if (!prev) throw new ResourceNotFoundError(key);
    this.remove(key, prev);
    return { ...prev };
  }

  private guard(key: string, modRevision: string): KeyValue {
    const existing = this.current(key);
    if (!existing) throw new ResourceNotFoundError(key);
    if (BigInt(existing.modRevision) !== BigInt(modRevision)) {
      throw new UpdateConflictError(key, { ...existing });
    }
    return existing;
  }

  async readMany(reads: readonly KVRead[]): Promise<KVReadManyResult> {
    this.check();
    return this.readNow(reads);
  }

  /** Every read at the current revision, synchronously: one snapshot, as etcd's txn gives. */
  private readNow(reads: readonly KVRead[]): KVReadManyResult {
    const results: KeyValue[][] = [];
    for (const read of reads) {
      if ("key" in read) {
        const kv = this.current(read.key);
        results.push(kv ? [{ ...kv }] : []);
        continue;
      }
      const kvs: KeyValue[] = [];
      for (const key of this.history.keys()) {
        const kv = key.startsWith(read.prefix) ? this.current(key) : undefined;
        if (kv) kvs.push({ ...kv });
      }
      results.push(kvs.sort((a, b) => compareKeys(a.key, b.key)));
    }
    return { results, revision: this.revision.toString() };
  }

  async commit(
    conditions: readonly KVCondition[],
    writes: readonly KVWrite[],
    orRead: readonly KVRead[] = [],
  ): Promise<KVCommitResult> {
    this.check();
    for (const c of conditions) {
      if ("key" in c) parseRevision(c.modRevision, "modRevision");
      else parseRevision(c.notModifiedAfter, "notModifiedAfter");
    }
    if (new Set(writes.map((w) => w.key)).size !== writes.length) {
      throw new InvalidRequestError("duplicate key given in txn request");
    }
    const holds = this.conditionsHold(conditions);
    if (!holds) {
      return {
        succeeded: false,
        revision: this.revision.toString(),
        ...(orRead.length > 0 ? { read: this.readNow(orRead) } : {}),
      };
    }
    // etcd's delete of an absent key is no write; a commit of nothing but those keeps the revision.
    const effective = writes.filter((w) => w.type === "put" || this.current(w.key));
    if (effective.length === 0) return { succeeded: true, revision: this.revision.toString() };
    this.revision += 1n;
    for (const w of effective) {
      if (w.type === "put") this.writeAt(w.key, w.value, this.revision);
      else this.removeAt(w.key, this.current(w.key)!, this.revision);
    }
    return { succeeded: true, revision: this.revision.toString() };
  }

  /** Synchronous, so that nothing can write between the check and the commit's writes. */
  private conditionsHold(conditions: readonly KVCondition[]): boolean {
    for (const c of conditions) {
      if ("key" in c) {
        if (BigInt(this.current(c.key)?.modRevision ?? "0") !== BigInt(c.modRevision)) return false;
        continue;
      }
      const after = BigInt(c.notModifiedAfter);
      for (const key of this.history.keys()) {
        const kv = key.startsWith(c.prefix) ? this.current(key) : undefined;
        if (kv && BigInt(kv.modRevision) > after) return false;
      }
    }
    return true;
  }

  watch(prefix: string, afterRevision: string, listener: KVWatchListener): KVWatch {
    this.check();
    const start = parseRevision(afterRevision, "watch revision") + 1n;
    const watch = new MemoryWatch(prefix, listener, (w) => this.watches.delete(w));
    this.watches.add(watch);
    if (start < this.compacted) {
      watch.fail(new RevisionCompactedError(start.toString()));
    } else {
      for (const logged of this.log) {
        if (logged.revision >= start) watch.offer(logged.key, logged.event);
      }
    }
    return watch;
  }

  /** Discards history before `revision`, like etcd's compaction. */
  async compact(revision: string): Promise<void> {
    this.check();
    const rev = parseRevision(revision);
    if (rev > this.revision) {
      throw new InvalidRequestError(`revision ${revision} is newer than the datastore's revision`);
    }
    if (rev <= this.compacted) throw new RevisionCompactedError(revision);
    this.compacted = rev;
    for (const [key, gens] of this.history) {
      const keep = gens.filter((g) => g.revision >= rev);
      const base = latestAt(gens, rev - 1n);
      // Keep the generation visible at the compaction point; drop keys deleted before it.
      if (base?.kv) keep.unshift(base);
      if (keep.length === 0) this.history.delete(key);
      else this.history.set(key, keep);
    }
    this.log = this.log.filter((e) => e.revision >= rev);
  }

  /** Ends every open watch with `error`, as a lost connection would. For tests. */
  dropWatches(error: Error = new DatastoreError("memory datastore dropped the watch")): void {
    for (const watch of [...this.watches]) watch.fail(error);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.expiries.values()) clearTimeout(timer);
    this.expiries.clear();
    for (const watch of [...this.watches]) await watch.close();
  }
}

function latestAt(gens: Generation[], revision: bigint): Generation | undefined {
  for (let i = gens.length - 1; i >= 0; i--) {
    const gen = gens[i]!;
    if (gen.revision <= revision) return gen;
  }
  return undefined;
}

/** etcd orders keys bytewise; compare UTF-8 bytes, not UTF-16 code units. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
