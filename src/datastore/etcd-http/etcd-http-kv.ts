/**
 * KVStore on etcd's v3 JSON gateway: the same requests as the gRPC EtcdKV (guarded single-key
 * transactions, prefix ranges, prefix watches), spoken as JSON over HTTP. It exists for
 * short-lived processes (the CNI plugins): the gRPC client costs more to load than a plugin run
 * spends talking to etcd.
 */
import { ResourceAlreadyExistsError, ResourceNotFoundError, UpdateConflictError } from "../errors.js";
import { type EtcdKVOptions, prefixRangeEnd } from "../etcd-settings.js";
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
import {
  b64,
  b64Bytes,
  revisionOf,
  toKeyValue,
  translateGatewayError,
  type WireHeader,
  type WireKeyValue,
} from "./codec.js";
import { GatewayTransport } from "./transport.js";
import { HttpWatch } from "./watch.js";

interface RangeResponse {
  header?: WireHeader;
  kvs?: WireKeyValue[];
}

interface TxnResponse {
  header?: WireHeader;
  succeeded?: boolean;
  responses?: Array<{
    response_range?: RangeResponse;
    response_delete_range?: { prev_kvs?: WireKeyValue[] };
  }>;
}

type RequestOp =
  | { request_range: { key: string; range_end?: string } }
  | { request_put: { key: string; value: string; lease?: string } }
  | { request_delete_range: { key: string; prev_kv?: boolean } };

interface Compare {
  key: string;
  range_end?: string;
  target: "VERSION" | "MOD";
  result: "EQUAL" | "LESS";
  version?: string;
  mod_revision?: string;
}

/** A KVCondition as the gateway spells it; a prefix guard is "every key's mod_revision < R + 1". */
function compareOf(c: KVCondition): Compare {
  if ("key" in c) return { key: b64(c.key), target: "MOD", result: "EQUAL", mod_revision: c.modRevision };
  const after = parseRevision(c.notModifiedAfter, "notModifiedAfter");
  return { ...rangeOf(c.prefix), target: "MOD", result: "LESS", mod_revision: (after + 1n).toString() };
}

const readOp = (r: KVRead): RequestOp =>
  "key" in r ? { request_range: { key: b64(r.key) } } : { request_range: rangeOf(r.prefix) };

function readResults(reads: readonly KVRead[], res: TxnResponse): KVReadManyResult {
  const responses = res.responses ?? [];
  return {
    results: reads.map((_, i) => (responses[i]?.response_range?.kvs ?? []).map(toKeyValue)),
    revision: revisionOf(res.header),
  };
}

const rangeOf = (prefix: string) => {
  const key = Buffer.from(prefix, "utf8");
  return { key: b64Bytes(key), range_end: b64Bytes(prefixRangeEnd(key)) };
};

export class EtcdHttpKV implements KVStore {
  private readonly transport: GatewayTransport;
  readonly endpoints: readonly string[];

  constructor(opts: EtcdKVOptions) {
    this.transport = new GatewayTransport(opts);
    this.endpoints = this.transport.endpoints;
  }

  private async call<T>(path: string, body: unknown, revision?: string): Promise<T> {
    try {
      return (await this.transport.call(path, body)) as T;
    } catch (err) {
      throw translateGatewayError(err, this.endpoints, revision);
    }
  }

  private async putOp(key: string, value: string, ttlSeconds?: number): Promise<RequestOp> {
    let lease: string | undefined;
    if (ttlSeconds !== undefined) {
      lease = (await this.call<{ ID?: string }>("/v3/lease/grant", { TTL: String(Math.ceil(ttlSeconds)) }))
        .ID;
    }
    return { request_put: { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) } };
  }

  /** A guarded single-key write whose failure branch reads the key back. */
  private txn(compare: Compare[], success: RequestOp[], key: string): Promise<TxnResponse> {
    return this.call<TxnResponse>("/v3/kv/txn", {
      compare,
      success,
      failure: [{ request_range: { key: b64(key) } }],
    });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.call<RangeResponse>("/v3/kv/range", { key: b64(key) });
    const kv = res.kvs?.[0];
    return kv ? toKeyValue(kv) : undefined;
  }

  async list(prefix: string, opts: { revision?: string } = {}): Promise<KVListResult> {
    const revision = opts.revision;
    if (revision !== undefined) parseRevision(revision);
    const res = await this.call<RangeResponse>(
      "/v3/kv/range",
      { ...rangeOf(prefix), ...(revision ? { revision } : {}) },
      revision,
    );
    return { kvs: (res.kvs ?? []).map(toKeyValue), revision: revisionOf(res.header) };
  }

  async create(key: string, value: string, opts: { ttlSeconds?: number } = {}): Promise<string> {
    const res = await this.txn(
      [{ key: b64(key), target: "VERSION", result: "EQUAL", version: "0" }],
      [await this.putOp(key, value, opts.ttlSeconds)],
      key,
    );
    if (!res.succeeded) throw new ResourceAlreadyExistsError(key, firstRangeKV(res));
    return revisionOf(res.header);
  }

  async update(
    key: string,
    value: string,
    modRevision: string,
    opts: { ttlSeconds?: number } = {},
  ): Promise<string> {
    requirePositiveRevision(modRevision);
    const res = await this.txn(
      [{ key: b64(key), target: "MOD", result: "EQUAL", mod_revision: modRevision }],
      [await this.putOp(key, value, opts.ttlSeconds)],
      key,
    );
    if (!res.succeeded) throw casFailure(key, res);
    return revisionOf(res.header);
  }

  async put(key: string, value: string, opts: { ttlSeconds?: number } = {}): Promise<string> {
    const op = await this.putOp(key, value, opts.ttlSeconds);
    const res = await this.call<{ header?: WireHeader }>(
      "/v3/kv/put",
      (op as { request_put: object }).request_put,
    );
    return revisionOf(res.header);
  }

  async delete(key: string, modRevision?: string): Promise<KeyValue> {
    const del = { key: b64(key), prev_kv: true };
    if (modRevision === undefined) {
      const res = await this.call<{ prev_kvs?: WireKeyValue[] }>("/v3/kv/deleterange", del);
      const prev = res.prev_kvs?.[0];
      if (!prev) throw new ResourceNotFoundError(key);
      return toKeyValue(prev);
    }
    requirePositiveRevision(modRevision);
    const res = await this.txn(
      [{ key: b64(key), target: "MOD", result: "EQUAL", mod_revision: modRevision }],
      [{ request_delete_range: del }],
      key,
    );
    if (!res.succeeded) throw casFailure(key, res);
    const prev = res.responses?.[0]?.response_delete_range?.prev_kvs?.[0];
    if (!prev) throw new ResourceNotFoundError(key);
    return toKeyValue(prev);
  }

  async readMany(reads: readonly KVRead[]): Promise<KVReadManyResult> {
    const res = await this.call<TxnResponse>("/v3/kv/txn", { success: reads.map(readOp) });
    return readResults(reads, res);
  }

  async commit(
    conditions: readonly KVCondition[],
    writes: readonly KVWrite[],
    orRead: readonly KVRead[] = [],
  ): Promise<KVCommitResult> {
    const compare = conditions.map((c) => {
      if ("key" in c) parseRevision(c.modRevision, "modRevision");
      return compareOf(c);
    });
    const res = await this.call<TxnResponse>("/v3/kv/txn", {
      compare,
      success: writes.map(
        (w): RequestOp =>
          w.type === "put"
            ? { request_put: { key: b64(w.key), value: b64(w.value) } }
            : { request_delete_range: { key: b64(w.key) } },
      ),
      ...(orRead.length > 0 ? { failure: orRead.map(readOp) } : {}),
    });
    const succeeded = res.succeeded === true;
    return {
      succeeded,
      revision: revisionOf(res.header),
      ...(!succeeded && orRead.length > 0 ? { read: readResults(orRead, res) } : {}),
    };
  }

  watch(prefix: string, afterRevision: string, listener: KVWatchListener): KVWatch {
    parseRevision(afterRevision, "watch revision");
    return new HttpWatch(this.transport, rangeOf(prefix), prefix, afterRevision, listener);
  }

  /** Discards history up to `revision` (tests use it to provoke RevisionCompactedError). */
  async compact(revision: string): Promise<void> {
    parseRevision(revision);
    await this.call("/v3/kv/compaction", { revision, physical: true }, revision);
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

function firstRangeKV(res: TxnResponse): KeyValue | undefined {
  const kv = res.responses?.[0]?.response_range?.kvs?.[0];
  return kv ? toKeyValue(kv) : undefined;
}

function casFailure(key: string, res: TxnResponse): Error {
  const latest = firstRangeKV(res);
  return latest ? new UpdateConflictError(key, latest) : new ResourceNotFoundError(key);
}
