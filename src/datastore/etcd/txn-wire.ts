/**
 * etcd's TxnRequest and TxnResponse (etcdserverpb, rpc.proto) in protobuf wire format, written
 * and read directly. Every conditional write and batched read of the KV store is one Txn, and
 * going through etcd3's generic path built each one as a plain object, converted it with
 * protobufjs's fromObject, encoded it, then decoded the answer into objects with every int64 as
 * a Long turned into text: about a tenth of the client's CPU per IPAM allocation. Here a request
 * is measured, then written into one buffer; a response is read straight into KeyValues.
 *
 * Only what the KV store sends is written (mod-revision and version compares, range, put and
 * delete ops) and only what it reads is kept (header revision, succeeded, range kvs and deleted
 * prev_kvs); unknown fields are skipped, as protobuf requires.
 */
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

// Field tags: (field number << 3) | wire type (0 varint, 2 length-delimited).
const LEN = 2;
const tag = (field: number, wireType: number) => (field << 3) | wireType;

// CompareTarget and CompareResult enum values.
const TARGET = { version: 0, mod: 2 } as const;
const RESULT = { equal: 0, less: 2 } as const;

const TWO_63 = 1n << 63n;
const TWO_64 = 1n << 64n;

/** An int64 as the unsigned varint protobuf writes (negatives as 10-byte two's complement). */
function uint64(v: bigint): bigint {
  if (v < -TWO_63 || v >= TWO_63) throw new RangeError(`${v} is not an int64`);
  return v < 0n ? v + TWO_64 : v;
}

function varintSize(v: number | bigint): number {
  if (typeof v === "number") {
    let n = 1;
    while (v >= 128) {
      v = Math.floor(v / 128);
      n++;
    }
    return n;
  }
  let n = 1;
  while (v >= 128n) {
    v >>= 7n;
    n++;
  }
  return n;
}

const bytesField = (field: number, len: number) => varintSize(tag(field, LEN)) + varintSize(len) + len;
const varintField = (field: number, v: number | bigint) => varintSize(tag(field, 0)) + varintSize(v);

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(v: number | bigint): void {
    const buf = this.buf;
    if (typeof v === "number") {
      while (v >= 128) {
        buf[this.pos++] = (v % 128) | 128;
        v = Math.floor(v / 128);
      }
      buf[this.pos++] = v;
      return;
    }
    while (v >= 128n) {
      buf[this.pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    buf[this.pos++] = Number(v);
  }

  header(field: number, len: number): void {
    this.varint(tag(field, LEN));
    this.varint(len);
  }

  text(field: number, s: string, len: number): void {
    this.header(field, len);
    this.pos += this.buf.write(s, this.pos, len, "utf8");
  }

  bytes(field: number, b: Buffer): void {
    this.header(field, b.length);
    this.pos += b.copy(this.buf, this.pos);
  }

  number(field: number, v: number | bigint): void {
    this.varint(tag(field, 0));
    this.varint(v);
  }
}

/** The int64 value of a compare as the varint's unsigned value, a number when exact. */
function compareValue(c: WireCompare): number | bigint {
  const u = uint64(c.value);
  return u <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(u) : u;
}

// Sizes are computed once per message and kept beside it, so writing never measures twice.
interface Sized<T> {
  item: T;
  keyLen: number;
  valueLen: number;
  body: number;
}

function sizeCompare(c: WireCompare): Sized<WireCompare> & { v: number | bigint } {
  const keyLen = Buffer.byteLength(c.key);
  const v = compareValue(c);
  const body =
    varintField(1, RESULT[c.result]) +
    varintField(2, TARGET[c.target]) +
    bytesField(3, keyLen) +
    // The value is a oneof member: written even when zero, so etcd sees which one is set.
    varintField(c.target === "mod" ? 6 : 4, v) +
    (c.rangeEnd ? bytesField(64, c.rangeEnd.length) : 0);
  return { item: c, keyLen, valueLen: 0, body, v };
}

function sizeOp(op: WireOp): Sized<WireOp> & { inner: number } {
  const keyLen = Buffer.byteLength(op.key);
  let inner = bytesField(1, keyLen);
  let valueLen = 0;
  if (op.type === "range") {
    if (op.rangeEnd) inner += bytesField(2, op.rangeEnd.length);
  } else if (op.type === "put") {
    valueLen = Buffer.byteLength(op.value);
    inner += bytesField(2, valueLen);
    if (op.lease !== undefined) inner += varintField(3, uint64(op.lease));
  } else if (op.prevKv) {
    inner += varintField(3, 1);
  }
  const field = op.type === "range" ? 1 : op.type === "put" ? 2 : 3;
  return { item: op, keyLen, valueLen, inner, body: bytesField(field, inner) };
}

function writeCompare(w: Writer, s: ReturnType<typeof sizeCompare>): void {
  const c = s.item;
  w.header(1, s.body);
  w.number(1, RESULT[c.result]);
  w.number(2, TARGET[c.target]);
  w.text(3, c.key, s.keyLen);
  w.number(c.target === "mod" ? 6 : 4, s.v);
  if (c.rangeEnd) w.bytes(64, c.rangeEnd);
}

function writeOp(w: Writer, field: number, s: ReturnType<typeof sizeOp>): void {
  const op = s.item;
  w.header(field, s.body);
  w.header(op.type === "range" ? 1 : op.type === "put" ? 2 : 3, s.inner);
  w.text(1, op.key, s.keyLen);
  if (op.type === "range") {
    if (op.rangeEnd) w.bytes(2, op.rangeEnd);
  } else if (op.type === "put") {
    w.text(2, op.value, s.valueLen);
    if (op.lease !== undefined) w.number(3, uint64(op.lease));
  } else if (op.prevKv) {
    w.number(3, 1);
  }
}

/** The TxnRequest, encoded. */
export function encodeTxn(txn: WireTxn): Buffer {
  const compares = txn.compare.map(sizeCompare);
  const success = txn.success.map(sizeOp);
  const failure = txn.failure.map(sizeOp);
  let total = 0;
  for (const c of compares) total += bytesField(1, c.body);
  for (const s of success) total += bytesField(2, s.body);
  for (const f of failure) total += bytesField(3, f.body);
  const w = new Writer(Buffer.allocUnsafe(total));
  for (const c of compares) writeCompare(w, c);
  for (const s of success) writeOp(w, 2, s);
  for (const f of failure) writeOp(w, 3, f);
  if (w.pos !== total) throw new Error(`TxnRequest encoding wrote ${w.pos} bytes, expected ${total}`);
  return w.buf;
}

export class WireDecodeError extends Error {
  override name = "WireDecodeError";
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint: a number while exact, a bigint beyond 2^53. */
  varint(): number | bigint {
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new WireDecodeError("truncated varint");
      const b = buf[this.pos++]!;
      result += (b & 127) * scale;
      if (b < 128) return result;
      scale *= 128;
    }
    // More than 49 bits: finish in bigint, exactly.
    let big = BigInt(result);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (this.pos >= this.end) throw new WireDecodeError("truncated varint");
      const b = buf[this.pos++]!;
      big |= BigInt(b & 127) << shift;
      if (b < 128) return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      shift += 7n;
    }
    throw new WireDecodeError("varint longer than 10 bytes");
  }

  /** An int64 field as decimal text. */
  int64(): string {
    const v = this.varint();
    if (typeof v === "number") return String(v);
    return String(v >= TWO_63 ? v - TWO_64 : v);
  }

  /** A length-delimited field: its [start, end). */
  span(): [number, number] {
    const len = Number(this.varint());
    const start = this.pos;
    if (start + len > this.end) throw new WireDecodeError("length beyond message");
    this.pos += len;
    return [start, start + len];
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.span();
    else if (wireType === 5) this.pos += 4;
    else throw new WireDecodeError(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new WireDecodeError("field beyond message");
  }
}

function decodeKeyValue(buf: Buffer, start: number, end: number): KeyValue {
  const r = new Reader(buf, start, end);
  const kv: KeyValue = { key: "", value: "", modRevision: "0", createRevision: "0", version: "0" };
  while (!r.done) {
    const t = Number(r.varint());
    const field = t >>> 3;
    if (field === 1 && (t & 7) === LEN) {
      const [s, e] = r.span();
      kv.key = buf.toString("utf8", s, e);
    } else if (field === 5 && (t & 7) === LEN) {
      const [s, e] = r.span();
      kv.value = buf.toString("utf8", s, e);
    } else if (field === 2 && (t & 7) === 0) kv.createRevision = r.int64();
    else if (field === 3 && (t & 7) === 0) kv.modRevision = r.int64();
    else if (field === 4 && (t & 7) === 0) kv.version = r.int64();
    else r.skip(t & 7);
  }
  return kv;
}

/** The KeyValues of field `kvField` of a RangeResponse or DeleteRangeResponse. */
function decodeKvs(buf: Buffer, start: number, end: number, kvField: number): KeyValue[] {
  const r = new Reader(buf, start, end);
  const kvs: KeyValue[] = [];
  while (!r.done) {
    const t = Number(r.varint());
    if (t >>> 3 === kvField && (t & 7) === LEN) {
      const [s, e] = r.span();
      kvs.push(decodeKeyValue(buf, s, e));
    } else r.skip(t & 7);
  }
  return kvs;
}

const OP_TYPES = ["other", "range", "put", "delete"] as const;

function decodeResponseOp(buf: Buffer, start: number, end: number): WireResponseOp {
  const r = new Reader(buf, start, end);
  let op: WireResponseOp = { type: "other", kvs: [] };
  while (!r.done) {
    const t = Number(r.varint());
    const field = t >>> 3;
    if ((t & 7) !== LEN || field < 1 || field > 4) {
      r.skip(t & 7);
      continue;
    }
    const [s, e] = r.span();
    const type = OP_TYPES[field] ?? "other";
    // RangeResponse keeps its kvs in field 2, DeleteRangeResponse its prev_kvs in field 3.
    const kvs = type === "range" ? decodeKvs(buf, s, e, 2) : type === "delete" ? decodeKvs(buf, s, e, 3) : [];
    op = { type, kvs };
  }
  return op;
}

function decodeHeaderRevision(buf: Buffer, start: number, end: number): string {
  const r = new Reader(buf, start, end);
  let revision = "0";
  while (!r.done) {
    const t = Number(r.varint());
    if (t >>> 3 === 3 && (t & 7) === 0) revision = r.int64();
    else r.skip(t & 7);
  }
  return revision;
}

/** A TxnResponse, decoded. */
export function decodeTxnResponse(buf: Buffer): WireTxnResponse {
  const r = new Reader(buf, 0, buf.length);
  const out: WireTxnResponse = { revision: "0", succeeded: false, responses: [] };
  while (!r.done) {
    const t = Number(r.varint());
    const field = t >>> 3;
    if (field === 1 && (t & 7) === LEN) {
      const [s, e] = r.span();
      out.revision = decodeHeaderRevision(buf, s, e);
    } else if (field === 2 && (t & 7) === 0) out.succeeded = r.varint() !== 0;
    else if (field === 3 && (t & 7) === LEN) {
      const [s, e] = r.span();
      out.responses.push(decodeResponseOp(buf, s, e));
    } else r.skip(t & 7);
  }
  return out;
}
