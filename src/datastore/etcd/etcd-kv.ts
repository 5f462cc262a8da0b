/**
 * KVStore on etcd v3: create/update/delete are single transactions with a version or
 * mod_revision guard, so a losing writer learns why (exists / missing / conflict) atomically.
 */
import { Etcd3, type ICompare, type IKeyValue, type IRequestOp, type ITxnResponse } from "etcd3";
import { ResourceAlreadyExistsError, ResourceNotFoundError, UpdateConflictError } from "../errors.js";
import type {
  KeyValue,
  KVCommitResult,
  KVCondition,
  KVListResult,
  KVRead,
  KVReadManyResult,
  KVStore,
  KVWatch,
  KVWatchListener,
  KVWrite,
} from "../kv.js";
import { parseRevision, requirePositiveRevision } from "../revision.js";
import { prefixRangeEnd, toKeyValue } from "./convert.js";
import { translateEtcdError } from "./errors.js";
import { buildClientOptions, type EtcdKVOptions } from "./options.js";
import { EtcdWatch, type WatchStream } from "./watch.js";

interface WatchStub {
  watch(metadata: unknown, options: object): WatchStream;
}

/** Exposes a raw watch stream, which etcd3 keeps behind its self-reconnecting Watcher. */
class Client extends Etcd3 {
  openWatchStream(): Promise<WatchStream> {
    return this.pool.withConnection("Watch", ({ client, metadata }) => {
      const md = metadata.clone();
      // Like etcdctl and Calico: a member that loses the leader cancels the watch instead of
      // silently serving a stale stream.
      md.set("hasleader", "true");
      return (client as unknown as WatchStub).watch(md, {});
    });
  }
}

const enc = (text: string) => Buffer.from(text, "utf8");

export class EtcdKV implements KVStore {
  private readonly client: Client;
  readonly endpoints: readonly string[];

  constructor(opts: EtcdKVOptions) {
    this.endpoints = [...opts.endpoints];
    this.client = new Client(buildClientOptions(opts));
  }

  private async call<T>(run: () => Promise<T>, revision?: string): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw translateEtcdError(err, this.endpoints, revision);
    }
  }

  private async lease(ttlSeconds: number | undefined): Promise<string | undefined> {
    if (ttlSeconds === undefined) return undefined;
    const res = await this.call(() => this.client.leaseClient.leaseGrant({ TTL: Math.ceil(ttlSeconds) }));
    return res.ID;
  }

  private async putOp(key: string, value: string, ttlSeconds?: number): Promise<IRequestOp> {
    const lease = await this.lease(ttlSeconds);
    return { request_put: { key: enc(key), value: enc(value), ...(lease ? { lease } : {}) } };
  }

  private txn(compare: Parameters<Client["kv"]["txn"]>[0]["compare"], success: IRequestOp[], key: string) {
    return this.call(() =>
      this.client.kv.txn({ compare, success, failure: [{ request_range: { key: enc(key) } }] }),
    );
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.call(() => this.client.kv.range({ key: enc(key) }));
    const kv = res.kvs[0];
    return kv ? toKeyValue(kv) : undefined;
  }

  async list(prefix: string, opts: { revision?: string } = {}): Promise<KVListResult> {
    const key = enc(prefix);
    const revision = opts.revision;
    if (revision !== undefined) parseRevision(revision);
    const res = await this.call(
      () => this.client.kv.range({ key, range_end: prefixRangeEnd(key), ...(revision ? { revision } : {}) }),
      revision,
    );
    return { kvs: res.kvs.map(toKeyValue), revision: res.header.revision };
  }

  async create(key: string, value: string, opts: { ttlSeconds?: number } = {}): Promise<string> {
    const res = await this.txn(
      [{ key: enc(key), target: "Version", result: "Equal", version: 0 }],
      [await this.putOp(key, value, opts.ttlSeconds)],
      key,
    );
    if (!res.succeeded) throw new ResourceAlreadyExistsError(key, firstRangeKV(res));
    return res.header.revision;
  }

  async update(
    key: string,
    value: string,
    modRevision: string,
    opts: { ttlSeconds?: number } = {},
  ): Promise<string> {
    requirePositiveRevision(modRevision);
    const res = await this.txn(
      [{ key: enc(key), target: "Mod", result: "Equal", mod_revision: modRevision }],
      [await this.putOp(key, value, opts.ttlSeconds)],
      key,
    );
    if (!res.succeeded) throw casFailure(key, res);
    return res.header.revision;
  }

  async put(key: string, value: string, opts: { ttlSeconds?: number } = {}): Promise<string> {
    const op = await this.putOp(key, value, opts.ttlSeconds);
    const res = await this.call(() => this.client.kv.put(op.request_put!));
    return res.header.revision;
  }

  async delete(key: string, modRevision?: string): Promise<KeyValue> {
    const del: IRequestOp = { request_delete_range: { key: enc(key), prev_kv: true } };
    if (modRevision === undefined) {
      const res = await this.call(() => this.client.kv.deleteRange(del.request_delete_range!));
      const prev = res.prev_kvs[0];
      if (!prev) throw new ResourceNotFoundError(key);
      return toKeyValue(prev);
    }
    requirePositiveRevision(modRevision);
    const res = await this.txn(
      [{ key: enc(key), target: "Mod", result: "Equal", mod_revision: modRevision }],
      [del],
      key,
    );
    if (!res.succeeded) throw casFailure(key, res);
    const prev = res.responses[0]?.response_delete_range.prev_kvs[0];
    // mod_revision == R with R > 0 implies the key existed when the txn ran.
    if (!prev) throw new ResourceNotFoundError(key);
    return toKeyValue(prev);
  }

  async readMany(reads: readonly KVRead[]): Promise<KVReadManyResult> {
    const res = await this.call(() =>
      this.client.kv.txn({ compare: [], success: reads.map(readOp), failure: [] }),
    );
    return readResults(reads, res);
  }

  async commit(
    conditions: readonly KVCondition[],
    writes: readonly KVWrite[],
    orRead: readonly KVRead[] = [],
  ): Promise<KVCommitResult> {
    const compare = conditions.map(compareOf);
    const res = await this.call(() =>
      this.client.kv.txn({
        compare,
        success: writes.map(
          (w): IRequestOp =>
            w.type === "put"
              ? { request_put: { key: enc(w.key), value: enc(w.value) } }
              : { request_delete_range: { key: enc(w.key) } },
        ),
        failure: orRead.map(readOp),
      }),
    );
    return {
      succeeded: res.succeeded,
      revision: res.header.revision,
      ...(!res.succeeded && orRead.length > 0 ? { read: readResults(orRead, res) } : {}),
    };
  }

  watch(prefix: string, afterRevision: string, listener: KVWatchListener): KVWatch {
    parseRevision(afterRevision, "watch revision");
    return new EtcdWatch(
      () => this.client.openWatchStream(),
      prefix,
      afterRevision,
      listener,
      this.endpoints,
    );
  }

  /** Discards history up to `revision` (tests use it to provoke RevisionCompactedError). */
  async compact(revision: string): Promise<void> {
    parseRevision(revision);
    await this.call(() => this.client.kv.compact({ revision, physical: true }), revision);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

function readOp(r: KVRead): IRequestOp {
  if ("key" in r) return { request_range: { key: enc(r.key) } };
  const key = enc(r.prefix);
  return { request_range: { key, range_end: prefixRangeEnd(key) } };
}

function readResults(reads: readonly KVRead[], res: ITxnResponse): KVReadManyResult {
  return {
    results: reads.map((_, i) => (res.responses[i]?.response_range?.kvs ?? []).map(toKeyValue)),
    revision: res.header.revision,
  };
}

/**
 * An int64 for protobufjs: a number when exact (every revision in practice), which it encodes
 * directly; the decimal text otherwise, which it parses through Long (slower, but exact).
 */
function int64(value: bigint): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value.toString();
}

/** A KVCondition as etcd's Compare; a prefix guard is "every key's mod_revision < R + 1". */
function compareOf(c: KVCondition): ICompare {
  if ("key" in c) {
    const rev = parseRevision(c.modRevision, "modRevision");
    return { key: enc(c.key), target: "Mod", result: "Equal", mod_revision: int64(rev) };
  }
  const after = parseRevision(c.notModifiedAfter, "notModifiedAfter");
  const key = enc(c.prefix);
  return {
    key,
    range_end: prefixRangeEnd(key),
    target: "Mod",
    result: "Less",
    mod_revision: int64(after + 1n),
  };
}

function firstRangeKV(res: ITxnResponse): KeyValue | undefined {
  const kv: IKeyValue | undefined = res.responses[0]?.response_range.kvs[0];
  return kv ? toKeyValue(kv) : undefined;
}

function casFailure(key: string, res: ITxnResponse): Error {
  const latest = firstRangeKV(res);
  return latest ? new UpdateConflictError(key, latest) : new ResourceNotFoundError(key);
}
