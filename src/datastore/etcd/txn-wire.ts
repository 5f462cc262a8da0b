/**
 * etcd's TxnRequest and TxnResponse (etcdserverpb, rpc.proto) in protobuf wire format, written
 * and read directly on protobufjs's low-level Writer and Reader (the part its static generated
 * code uses). Every conditional write and batched read of the KV store is one Txn, and going
 * through etcd3's generic path built each one as a plain object, converted it with protobufjs's
 * fromObject, encoded it, then decoded the answer into objects with every int64 as a Long turned
 * into text: about a tenth of the client's CPU per IPAM allocation. Here a request is written
 * field by field, with no message objects or reflection; a response is read straight into
 * KeyValues.
 *
 * Only what the KV store sends is written (mod-revision and version compares, range, put and
 * delete ops) and only what it reads is kept (header revision, succeeded, range kvs and deleted
 * prev_kvs); unknown fields are skipped, as protobuf requires.
 */
import protobuf from "protobufjs/minimal.js";
import type { KeyValue } from "../kv.js";

/** A Compare: `target` of the key (or of every key up to `rangeEnd`) `result` `value`. */
export interface WireCompare {
  key: string;
  rangeEnd?: Buffer;
  target: "version" | "mod";
  result: "equal" | "less";
  value: bigint;
}

export type WireOp =
  | { type: "range"; key: string; rangeEnd?: Buffer }
  | { type: "put"; key: string; value: string; lease?: bigint }
  | { type: "delete"; key: string; prevKv?: boolean };

export interface WireTxn {
  compare: readonly WireCompare[];
  success: readonly WireOp[];
  failure: readonly WireOp[];
}

/** One ResponseOp: the kvs of a range, the prev_kvs of a delete, nothing for a put. */
export interface WireResponseOp {
  type: "range" | "put" | "delete" | "other";
  kvs: KeyValue[];
}

export interface WireTxnResponse {
  revision: string;
  succeeded: boolean;
  responses: WireResponseOp[];
}

type Writer = protobuf.Writer;
type Reader = protobuf.Reader;

// Without a Long implementation, Reader.int64 gives a plain number and loses revisions beyond
// 2^53; protobufjs finds long.js (its own dependency) at load, so this only guards a broken
// install.
if (!protobuf.util.Long)
  throw new Error("protobufjs loaded without Long support: int64 fields would be inexact");

// Wire types, and a field's tag: (field number << 3) | wire type.
const VARINT = 0;
const LEN = 2;
const tag = (field: number, wireType: number) => (field << 3) | wireType;

// CompareTarget and CompareResult enum values.
const TARGET = { version: 0, mod: 2 } as const;
const RESULT = { equal: 0, less: 2 } as const;

// Bounds as constants: a bigint expression would allocate on every call.
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = -SAFE_MAX;

/** An int64 in the form Writer.int64 takes: a number while exact, else its two 32-bit halves. */
function int64(v: bigint): number | protobuf.Long {
  if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`${v} is not an int64`);
  if (v <= SAFE_MAX && v >= SAFE_MIN) return Number(v);
  return { low: Number(BigInt.asIntN(32, v)), high: Number(BigInt.asIntN(32, v >> 32n)), unsigned: false };
}

// ES2024's String.prototype.isWellFormed/toWellFormed, present in Node 20 but not in our lib.
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * Text as UTF-8, exactly as Buffer writes it. protobufjs encodes a lone surrogate on its own
 * (for short strings) where Buffer writes U+FFFD, so such a string is made well-formed first.
 */
function text(w: Writer, field: number, s: string): void {
  const ws = s as unknown as WellFormed;
  w.uint32(tag(field, LEN)).string(ws.isWellFormed() ? s : ws.toWellFormed());
}

function writeCompare(w: Writer, c: WireCompare): void {
  w.uint32(tag(1, LEN)).fork();
  w.uint32(tag(1, VARINT)).int32(RESULT[c.result]);
  w.uint32(tag(2, VARINT)).int32(TARGET[c.target]);
  text(w, 3, c.key);
  // The value is a oneof member: written even when zero, so etcd sees which one is set.
  w.uint32(tag(c.target === "mod" ? 6 : 4, VARINT)).int64(int64(c.value));
  if (c.rangeEnd) w.uint32(tag(64, LEN)).bytes(c.rangeEnd);
  w.ldelim();
}

function writeOp(w: Writer, field: number, op: WireOp): void {
  w.uint32(tag(field, LEN)).fork();
  w.uint32(tag(op.type === "range" ? 1 : op.type === "put" ? 2 : 3, LEN)).fork();
  text(w, 1, op.key);
  if (op.type === "range") {
    if (op.rangeEnd) w.uint32(tag(2, LEN)).bytes(op.rangeEnd);
  } else if (op.type === "put") {
    text(w, 2, op.value);
    if (op.lease !== undefined) w.uint32(tag(3, VARINT)).int64(int64(op.lease));
  } else if (op.prevKv) {
    w.uint32(tag(3, VARINT)).bool(true);
  }
  w.ldelim().ldelim();
}

/** The TxnRequest, encoded. */
export function encodeTxn(txn: WireTxn): Buffer {
  const w = protobuf.Writer.create();
  for (const c of txn.compare) writeCompare(w, c);
  for (const s of txn.success) writeOp(w, 2, s);
  for (const f of txn.failure) writeOp(w, 3, f);
  // In Node, Writer.create gives a BufferWriter, whose finish() is already a Buffer.
  const out = w.finish();
  return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.length);
}

export class WireDecodeError extends Error {
  override name = "WireDecodeError";
}

/** An int64 field as decimal text, exact over the whole range. */
function readInt64(r: Reader): string {
  const { low, high } = r.int64();
  // |value| < 2^53 exactly when the high word is within ±2^21: a double holds it.
  if (high >= -0x200000 && high < 0x200000) return String(high * 0x100000000 + (low >>> 0));
  return String(BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)));
}

/** The end of the length-delimited field at the reader, checked against the whole message. */
function fieldEnd(r: Reader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new WireDecodeError("length beyond message");
  return end;
}

/** After reading a submessage up to `end`: its last field must not have run past it. */
function closeField(r: Reader, end: number): void {
  if (r.pos !== end) throw new WireDecodeError("field beyond message");
}

/** A bytes field as text, decoded as Buffer decodes UTF-8. */
function readText(r: Reader, buf: Buffer): string {
  const end = fieldEnd(r);
  const start = r.pos;
  r.pos = end;
  return buf.toString("utf8", start, end);
}

function decodeKeyValue(r: Reader, buf: Buffer, end: number): KeyValue {
  const kv: KeyValue = { key: "", value: "", modRevision: "0", createRevision: "0", version: "0" };
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case tag(1, LEN):
        kv.key = readText(r, buf);
        break;
      case tag(5, LEN):
        kv.value = readText(r, buf);
        break;
      case tag(2, VARINT):
        kv.createRevision = readInt64(r);
        break;
      case tag(3, VARINT):
        kv.modRevision = readInt64(r);
        break;
      case tag(4, VARINT):
        kv.version = readInt64(r);
        break;
      default:
        r.skipType(t & 7);
    }
  }
  closeField(r, end);
  return kv;
}

/** The KeyValues of field `kvField` of a RangeResponse or DeleteRangeResponse. */
function decodeKvs(r: Reader, buf: Buffer, end: number, kvField: number): KeyValue[] {
  const kvs: KeyValue[] = [];
  const kvTag = tag(kvField, LEN);
  while (r.pos < end) {
    const t = r.uint32();
    if (t === kvTag) kvs.push(decodeKeyValue(r, buf, fieldEnd(r)));
    else r.skipType(t & 7);
  }
  closeField(r, end);
  return kvs;
}

const OP_TYPES = ["other", "range", "put", "delete"] as const;

function decodeResponseOp(r: Reader, buf: Buffer, end: number): WireResponseOp {
  let op: WireResponseOp = { type: "other", kvs: [] };
  while (r.pos < end) {
    const t = r.uint32();
    const field = t >>> 3;
    if ((t & 7) !== LEN || field < 1 || field > 4) {
      r.skipType(t & 7);
      continue;
    }
    const opEnd = fieldEnd(r);
    const type = OP_TYPES[field] ?? "other";
    // RangeResponse keeps its kvs in field 2, DeleteRangeResponse its prev_kvs in field 3.
    const kvField = type === "range" ? 2 : type === "delete" ? 3 : 0;
    if (kvField) op = { type, kvs: decodeKvs(r, buf, opEnd, kvField) };
    else {
      r.pos = opEnd;
      op = { type, kvs: [] };
    }
  }
  closeField(r, end);
  return op;
}

function decodeHeaderRevision(r: Reader, end: number): string {
  let revision = "0";
  while (r.pos < end) {
    const t = r.uint32();
    if (t === tag(3, VARINT)) revision = readInt64(r);
    else r.skipType(t & 7);
  }
  closeField(r, end);
  return revision;
}

function decodeTxn(r: Reader, buf: Buffer): WireTxnResponse {
  const out: WireTxnResponse = { revision: "0", succeeded: false, responses: [] };
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === tag(1, LEN)) out.revision = decodeHeaderRevision(r, fieldEnd(r));
    else if (t === tag(2, VARINT)) out.succeeded = r.bool();
    else if (t === tag(3, LEN)) out.responses.push(decodeResponseOp(r, buf, fieldEnd(r)));
    else r.skipType(t & 7);
  }
  closeField(r, r.len);
  return out;
}

/** A TxnResponse, decoded. */
export function decodeTxnResponse(buf: Buffer): WireTxnResponse {
  try {
    return decodeTxn(protobuf.Reader.create(buf), buf);
  } catch (err) {
    if (err instanceof WireDecodeError) throw err;
    // protobufjs reports reading past the end as a RangeError ("index out of range") and a bad
    // wire type as an Error; both mean the bytes are not a whole TxnResponse.
    const why = err instanceof RangeError ? "truncated" : "malformed";
    throw new WireDecodeError(`${why} TxnResponse: ${(err as Error).message}`);
  }
}
