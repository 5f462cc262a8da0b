/**
 * Our Txn codec (on protobufjs's low-level Writer/Reader) against protobufjs reading etcd's own
 * rpc.proto (the schema and
 * library etcd3 uses): every request we encode must decode there to the same message, and every
 * response protobufjs encodes must decode here to the same kvs and revision.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeTxnResponse,
  encodeTxn,
  type WireCompare,
  WireDecodeError,
  type WireOp,
} from "../../src/datastore/etcd/txn-wire.js";

// protobufjs comes with etcd3 (through @grpc/proto-loader); the test resolves it from there, as
// etcd3 does, so it checks against the very schema and encoder the etcd client uses.
const require = createRequire(import.meta.url);
const etcd3Dir = dirname(require.resolve("etcd3/package.json"));
const protobuf = createRequire(require.resolve("@grpc/proto-loader", { paths: [etcd3Dir] }))(
  "protobufjs",
) as typeof import("protobufjs");
const root = new protobuf.Root().loadSync(join(etcd3Dir, "proto", "rpc.proto"), { keepCase: true });
const TxnRequest = root.lookupType("etcdserverpb.TxnRequest");
const TxnResponse = root.lookupType("etcdserverpb.TxnResponse");
const toObject = (m: import("protobufjs").Message) =>
  TxnRequest.toObject(m, { longs: String, enums: String, bytes: String, defaults: false, oneofs: true });

const text = fc.string({ unit: "binary", maxLength: 40 });
const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const revision = fc.oneof(fc.bigInt({ min: 0n, max: 1n << 20n }), int64);
const rangeEnd = fc.option(fc.uint8Array({ minLength: 1, maxLength: 8 }), { nil: undefined });

const compare: fc.Arbitrary<WireCompare> = fc.record({
  key: text,
  rangeEnd: rangeEnd.map((b) => b && Buffer.from(b)),
  target: fc.constantFrom("version" as const, "mod" as const),
  result: fc.constantFrom("equal" as const, "less" as const),
  value: revision,
});
const op: fc.Arbitrary<WireOp> = fc.oneof(
  fc.record({
    type: fc.constant("range" as const),
    key: text,
    rangeEnd: rangeEnd.map((b) => b && Buffer.from(b)),
  }),
  fc.record(
    {
      type: fc.constant("put" as const),
      key: text,
      value: fc.string({ unit: "binary", maxLength: 3000 }),
      lease: fc.bigInt({ min: 1n, max: (1n << 63n) - 1n }),
    },
    { requiredKeys: ["type", "key", "value"] },
  ),
  fc.record({ type: fc.constant("delete" as const), key: text, prevKv: fc.boolean() }),
);

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** What protobufjs's toObject gives for one of our ops (bytes as base64, int64 as text). */
function expectedOp(o: WireOp): Record<string, unknown> {
  if (o.type === "range") {
    return {
      request_range: { key: b64(o.key), ...(o.rangeEnd ? { range_end: o.rangeEnd.toString("base64") } : {}) },
      request: "request_range",
    };
  }
  if (o.type === "put") {
    return {
      request_put: {
        key: b64(o.key),
        value: b64(o.value),
        ...(o.lease !== undefined ? { lease: String(o.lease) } : {}),
      },
      request: "request_put",
    };
  }
  return {
    request_delete_range: { key: b64(o.key), ...(o.prevKv ? { prev_kv: true } : {}) },
    request: "request_delete_range",
  };
}

function expectedCompare(c: WireCompare): Record<string, unknown> {
  const field = c.target === "mod" ? "mod_revision" : "version";
  return {
    result: c.result === "equal" ? "Equal" : "Less",
    target: c.target === "mod" ? "Mod" : "Version",
    key: b64(c.key),
    [field]: String(c.value),
    target_union: field,
    ...(c.rangeEnd ? { range_end: c.rangeEnd.toString("base64") } : {}),
  };
}

describe("etcd Txn wire codec", () => {
  it("encodes requests exactly as etcd's schema reads them", () => {
    fc.assert(
      fc.property(
        fc.array(compare, { maxLength: 6 }),
        fc.array(op, { maxLength: 5 }),
        fc.array(op, { maxLength: 3 }),
        (cmp, success, failure) => {
          const decoded = toObject(TxnRequest.decode(encodeTxn({ compare: cmp, success, failure })));
          const expected: Record<string, unknown> = {};
          if (cmp.length) expected.compare = cmp.map(expectedCompare);
          if (success.length) expected.success = success.map(expectedOp);
          if (failure.length) expected.failure = failure.map(expectedOp);
          expect(decoded).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("writes a zero compare value, so etcd sees which member of the oneof is set", () => {
    const bytes = encodeTxn({
      compare: [{ key: "k", target: "mod", result: "equal", value: 0n }],
      success: [],
      failure: [],
    });
    const decoded = TxnRequest.toObject(TxnRequest.decode(bytes), { oneofs: true, longs: String });
    expect(decoded.compare[0].target_union).toBe("mod_revision");
  });

  const keyValue = fc.record({
    key: text,
    value: fc.string({ unit: "binary", maxLength: 2000 }),
    create_revision: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
    mod_revision: revision,
    version: fc.bigInt({ min: 0n, max: 1n << 40n }),
    lease: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
  });

  it("decodes responses exactly as etcd's schema writes them", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
        fc.boolean(),
        fc.array(
          fc.oneof(
            fc.record({ type: fc.constant("range" as const), kvs: fc.array(keyValue, { maxLength: 3 }) }),
            fc.record({ type: fc.constant("delete" as const), kvs: fc.array(keyValue, { maxLength: 2 }) }),
            fc.record({ type: fc.constant("put" as const), kvs: fc.constant([]) }),
          ),
          { maxLength: 5 },
        ),
        (rev, succeeded, responses) => {
          const kvObj = (kv: (typeof responses)[number]["kvs"][number]) => ({
            key: Buffer.from(kv.key, "utf8"),
            value: Buffer.from(kv.value, "utf8"),
            create_revision: String(kv.create_revision),
            mod_revision: String(kv.mod_revision),
            version: String(kv.version),
            lease: String(kv.lease),
          });
          const header = {
            cluster_id: "14841639068965178418",
            member_id: "10276657743932975437",
            revision: String(rev),
            raft_term: "7",
          };
          const message = TxnResponse.fromObject({
            header,
            succeeded,
            responses: responses.map((r) =>
              r.type === "range"
                ? {
                    response_range: {
                      header,
                      kvs: r.kvs.map(kvObj),
                      more: true,
                      count: String(r.kvs.length),
                    },
                  }
                : r.type === "delete"
                  ? {
                      response_delete_range: {
                        header,
                        deleted: String(r.kvs.length),
                        prev_kvs: r.kvs.map(kvObj),
                      },
                    }
                  : { response_put: { header } },
            ),
          });
          const decoded = decodeTxnResponse(Buffer.from(TxnResponse.encode(message).finish()));
          expect(decoded.revision).toBe(String(rev));
          expect(decoded.succeeded).toBe(succeeded);
          expect(decoded.responses).toEqual(
            responses.map((r) => ({
              type: r.type,
              kvs: r.kvs.map((kv) => ({
                key: kv.key,
                value: kv.value,
                createRevision: String(kv.create_revision),
                modRevision: String(kv.mod_revision),
                version: String(kv.version),
              })),
            })),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("rejects a truncated response instead of inventing fields", () => {
    const full = TxnResponse.encode(
      TxnResponse.fromObject({
        header: { revision: "5" },
        succeeded: true,
        responses: [{ response_range: { kvs: [{ key: Buffer.from("k"), value: Buffer.from("v") }] } }],
      }),
    ).finish();
    expect(() => decodeTxnResponse(Buffer.from(full).subarray(0, full.length - 2))).toThrow(
      /beyond message|truncated/,
    );
  });

  it("writes text as Buffer does, a lone surrogate as U+FFFD, short or long", () => {
    for (const key of ["a\uD800b", `${"x".repeat(50)}\uDC00`]) {
      const bytes = encodeTxn({ compare: [], success: [{ type: "put", key, value: "v" }], failure: [] });
      const decoded = TxnRequest.toObject(TxnRequest.decode(bytes), { bytes: String });
      expect(decoded.success[0].request_put.key).toBe(Buffer.from(key, "utf8").toString("base64"));
    }
  });

  it("writes int64 extremes exactly", () => {
    for (const value of [-(1n << 63n), -1n, (1n << 53n) + 1n, (1n << 63n) - 1n]) {
      const bytes = encodeTxn({
        compare: [{ key: "k", target: "mod", result: "less", value }],
        success: [],
        failure: [],
      });
      const decoded = TxnRequest.toObject(TxnRequest.decode(bytes), { longs: String });
      expect(decoded.compare[0].mod_revision).toBe(String(value));
    }
    expect(() =>
      encodeTxn({
        compare: [{ key: "k", target: "mod", result: "less", value: 1n << 63n }],
        success: [],
        failure: [],
      }),
    ).toThrow(/not an int64/);
  });

  // Hand-built wire bytes: tag (field << 3 | wire type, one byte for fields below 16), then the field.
  const ld = (field: number, body: number[]) => [(field << 3) | 2, body.length, ...body];
  const unknownOfEveryType = [
    [(10 << 3) | 0, 0x96, 0x01], // varint
    [(11 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8], // fixed64
    ld(12, [1, 2, 3]), // length-delimited
    [(13 << 3) | 3, (1 << 3) | 0, 5, (13 << 3) | 4], // group holding a varint
    [(14 << 3) | 5, 1, 2, 3, 4], // fixed32
  ].flat();

  it("skips unknown fields of every wire type, at every level", () => {
    const kv = [...ld(1, [0x6b]), ...unknownOfEveryType, (3 << 3) | 0, 9, ...ld(5, [0x76])];
    const range = [...unknownOfEveryType, ...ld(2, kv)];
    const bytes = Buffer.from([
      ...unknownOfEveryType,
      ...ld(1, [...unknownOfEveryType, (3 << 3) | 0, 42]),
      (2 << 3) | 0,
      1,
      ...ld(3, [...unknownOfEveryType, ...ld(1, range)]),
    ]);
    expect(decodeTxnResponse(bytes)).toEqual({
      revision: "42",
      succeeded: true,
      responses: [
        {
          type: "range",
          kvs: [{ key: "k", value: "v", modRevision: "9", createRevision: "0", version: "0" }],
        },
      ],
    });
  });

  it("rejects a field running past the end of its submessage, and an invalid wire type", () => {
    // The header claims 2 bytes, but its revision varint takes 3.
    const overrun = Buffer.from([...ld(1, [(3 << 3) | 0, 0x80]), 0x01, (2 << 3) | 0, 1]);
    expect(() => decodeTxnResponse(overrun)).toThrow(WireDecodeError);
    expect(() => decodeTxnResponse(overrun)).toThrow(/beyond message/);
    const badWireType = Buffer.from([(9 << 3) | 7, 0]);
    expect(() => decodeTxnResponse(badWireType)).toThrow(/malformed TxnResponse/);
  });
});
