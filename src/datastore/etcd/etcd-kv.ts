/**
 * KVStore on etcd v3: create/update/delete are single transactions with a version or
 * mod_revision guard, so a losing writer learns why (exists / missing / conflict) atomically.
 */
import { castGrpcError, Etcd3, EtcdInvalidAuthTokenError, isRecoverableError } from "etcd3";
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
import { buildClientOptions, DEFAULT_REQUEST_TIMEOUT_MS, type EtcdKVOptions } from "./options.js";
import {
  decodeTxnResponse,
  encodeTxn,
  type WireCompare,
  type WireOp,
  type WireTxn,
  type WireTxnResponse,
} from "./txn-wire.js";
import { EtcdWatch, type WatchStream } from "./watch.js";

interface WatchStub {
  watch(metadata: unknown, options: object): WatchStream;
}

/** The part of grpc-js's Client a raw unary call uses. */
interface UnaryStub {
  makeUnaryRequest(
    method: string,
    serialize: (b: Buffer) => Buffer,
    deserialize: (b: Buffer) => Buffer,
    argument: Buffer,
    metadata: unknown,
    options: { deadline: number },
    callback: (err: Error | null, res?: Buffer) => void,
  ): unknown;
}

const same = (b: Buffer) => b;

/**
 * Exposes a raw watch stream, which etcd3 keeps behind its self-reconnecting Watcher, and a raw
 * Txn call that takes and returns protobuf bytes (see txn-wire.ts), on etcd3's connections and
 * auth token.
 */
class Client extends Etcd3 {
  /** One Txn on the first endpoint that answers, as etcd3 would send it; the encoded response. */
  async rawTxn(request: Buffer, timeoutMs: number, endpoints: number): Promise<Buffer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < endpoints; attempt++) {
      try {
        return await this.rawTxnOnce(request, timeoutMs);
      } catch (err) {
        if (err instanceof EtcdInvalidAuthTokenError) {
          // etcd3 does the same on its own calls: fetch a new token and try again.
          (
            this.pool as unknown as { authenticator: { invalidateMetadata(): void } }
          ).authenticator.invalidateMetadata();
          return this.rawTxnOnce(request, timeoutMs);
        }
        lastError = err;
        if (!(err instanceof Error) || !isRecoverableError(err)) throw err;
      }
    }
    throw lastError;
  }

  private rawTxnOnce(request: Buffer, timeoutMs: number): Promise<Buffer> {
    return this.pool.withConnection(
      "KV",
      ({ client, metadata }) =>
        new Promise<Buffer>((resolve, reject) => {
          // grpc-js captures the caller's stack on every call (new Error()) only to append it to
          // a failure's message; on the allocation path that capture cost more than the rest of
          // grpc-js's call setup. Our errors name the endpoint and etcd's message instead.
          const limit = Error.stackTraceLimit;
          Error.stackTraceLimit = 0;
          try {
            (client as unknown as UnaryStub).makeUnaryRequest(
              "/etcdserverpb.KV/Txn",
              same,
              same,
              request,
              metadata,
              { deadline: Date.now() + timeoutMs },
              (err, res) => (err ? reject(castGrpcError(err)) : resolve(res!)),
            );
          } finally {
            Error.stackTraceLimit = limit;
          }
        }),
    );
  }

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
  readonly #timeoutMs: number;

  constructor(opts: EtcdKVOptions) {
    this.endpoints = [...opts.endpoints];
    this.client = new Client(buildClientOptions(opts));
    this.#timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
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

  private async putOp(key: string, value: string, ttlSeconds?: number): Promise<WireOp> {
    const lease = await this.lease(ttlSeconds);
    return { type: "put", key, value, ...(lease ? { lease: BigInt(lease) } : {}) };
  }

  /** One Txn over the raw call. */
  private txn(txn: WireTxn, revision?: string): Promise<WireTxnResponse> {
    const request = encodeTxn(txn);
    return this.call(
      async () =>
        decodeTxnResponse(await this.client.rawTxn(request, this.#timeoutMs, this.endpoints.length)),
      revision,
    );
  }

  /** A Txn guarded on `key`, reading the key when the guard fails. */
  private guarded(compare: WireCompare, success: WireOp[], key: string): Promise<WireTxnResponse> {
    return this.txn({ compare: [compare], success, failure: [{ type: "range", key }] });
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
    const res = await this.guarded(
      { key, target: "version", result: "equal", value: 0n },
      [await this.putOp(key, value, opts.ttlSeconds)],
      key,
    );
    if (!res.succeeded) throw new ResourceAlreadyExistsError(key, firstRangeKV(res));
    return res.revision;
  }

  async update(
    key: string,
    value: string,
    modRevision: string,
    opts: { ttlSeconds?: number } = {},
  ): Promise<string> {
    const rev = requirePositiveRevision(modRevision);
    const res = await this.guarded(
      { key, target: "mod", result: "equal", value: rev },
      [await this.putOp(key, value, opts.ttlSeconds)],
      key,
    );
    if (!res.succeeded) throw casFailure(key, res);
    return res.revision;
  }

  async put(key: string, value: string, opts: { ttlSeconds?: number } = {}): Promise<string> {
    const lease = await this.lease(opts.ttlSeconds);
    const res = await this.call(() =>
      this.client.kv.put({ key: enc(key), value: enc(value), ...(lease ? { lease } : {}) }),
    );
    return res.header.revision;
  }

  async delete(key: string, modRevision?: string): Promise<KeyValue> {
    if (modRevision === undefined) {
      const res = await this.call(() => this.client.kv.deleteRange({ key: enc(key), prev_kv: true }));
      const prev = res.prev_kvs[0];
      if (!prev) throw new ResourceNotFoundError(key);
      return toKeyValue(prev);
    }
    const rev = requirePositiveRevision(modRevision);
    const res = await this.guarded(
      { key, target: "mod", result: "equal", value: rev },
      [{ type: "delete", key, prevKv: true }],
      key,
    );
    if (!res.succeeded) throw casFailure(key, res);
    const prev = res.responses[0]?.kvs[0];
    // mod_revision == R with R > 0 implies the key existed when the txn ran.
    if (!prev) throw new ResourceNotFoundError(key);
    return prev;
  }

  async readMany(reads: readonly KVRead[]): Promise<KVReadManyResult> {
    const res = await this.txn({ compare: [], success: reads.map(readOp), failure: [] });
    return readResults(reads, res);
  }

  async commit(
    conditions: readonly KVCondition[],
    writes: readonly KVWrite[],
    orRead: readonly KVRead[] = [],
  ): Promise<KVCommitResult> {
    const res = await this.txn({
      compare: conditions.map(compareOf),
      success: writes.map((w): WireOp => (w.type === "put" ? w : { type: "delete", key: w.key })),
      failure: orRead.map(readOp),
    });
    return {
      succeeded: res.succeeded,
      revision: res.revision,
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

function readOp(r: KVRead): WireOp {
  if ("key" in r) return { type: "range", key: r.key };
  return { type: "range", key: r.prefix, rangeEnd: prefixRangeEnd(enc(r.prefix)) };
}

function readResults(reads: readonly KVRead[], res: WireTxnResponse): KVReadManyResult {
  return {
    results: reads.map((_, i) => res.responses[i]?.kvs ?? []),
    revision: res.revision,
  };
}

/** A KVCondition as etcd's Compare; a prefix guard is "every key's mod_revision < R + 1". */
function compareOf(c: KVCondition): WireCompare {
  if ("key" in c) {
    return { key: c.key, target: "mod", result: "equal", value: parseRevision(c.modRevision, "modRevision") };
  }
  const after = parseRevision(c.notModifiedAfter, "notModifiedAfter");
  return {
    key: c.prefix,
    rangeEnd: prefixRangeEnd(enc(c.prefix)),
    target: "mod",
    result: "less",
    value: after + 1n,
  };
}

function firstRangeKV(res: WireTxnResponse): KeyValue | undefined {
  return res.responses[0]?.kvs[0];
}

function casFailure(key: string, res: WireTxnResponse): Error {
  const latest = firstRangeKV(res);
  return latest ? new UpdateConflictError(key, latest) : new ResourceNotFoundError(key);
}
