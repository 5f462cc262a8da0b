/**
 * Typha's wire protocol: Calico's message set and state machine, carried in length-prefixed
 * frames. A frame is a 4-byte big-endian body length, then the body: one flags byte (bit 0 =
 * payload is raw-deflate compressed) and the message as UTF-8 JSON. Values travel as embedded
 * JSON (not as strings inside JSON), so a value is parsed exactly once, by the receiver's frame
 * parse. Compression is only used after the server's DecoderRestart has been acknowledged.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { SyncStatus, SyncUpdateType } from "../datastore/index.js";

/** Calico's Typha port. */
export const DEFAULT_PORT = 5473;

export const SYNCER_TYPES = ["felix", "bgp"] as const;
export type SyncerType = (typeof SYNCER_TYPES)[number];

export const COMPRESSION = "deflate";

/** Calico's enum values for sync status and update type, as they appear on the wire. */
export const STATUS_CODE: Readonly<Record<SyncStatus, number>> = {
  WaitForDatastore: 0,
  ResyncInProgress: 1,
  InSync: 2,
};
export const STATUS_BY_CODE: readonly SyncStatus[] = ["WaitForDatastore", "ResyncInProgress", "InSync"];
export const UPDATE_CODE: Readonly<Record<SyncUpdateType, number>> = { new: 1, updated: 2, deleted: 3 };
const UPDATE_BY_CODE: ReadonlyArray<SyncUpdateType | undefined> = [undefined, "new", "updated", "deleted"];

/** One KV on the wire. `v` is the decoded value with resourceVersion moved out to `rv`. */
export interface SerializedUpdate {
  /** Source (resource kind or raw prefix name) the key belongs to. */
  s: string;
  k: string;
  v: unknown;
  /** Revision of the update. */
  r: string;
  /** The v3 resourceVersion, kept apart so identical values compare equal across revisions. */
  rv?: string;
  /** Calico's update type code: 1 new, 2 updated, 3 deleted. */
  t: number;
}

export type ClientMessage =
  | {
      type: "ClientHello";
      hostname: string;
      info: string;
      version: string;
      syncerType: string;
      supportsDecoderRestart: boolean;
      supportedCompressionAlgorithms: string[];
      supportsModernPolicyKeys: boolean;
      clientConnID: number;
    }
  | { type: "ACK" }
  | { type: "Pong"; pingTimestamp: number; pongTimestamp: number };

export type ServerMessage =
  | {
      type: "ServerHello";
      version: string;
      syncerType: string;
      supportsNodeResourceUpdates: boolean;
      serverConnID: number;
    }
  | { type: "DecoderRestart"; message: string; compressionAlgorithm: string }
  | { type: "KVs"; kvs: SerializedUpdate[] }
  | { type: "SyncStatus"; syncStatus: number }
  | { type: "Ping"; timestamp: number };

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

const HEADER = 4;
const FLAG_DEFLATE = 1;

/** Frames `json` (already-serialised message text); compressed when asked and when it pays. */
export function frameText(json: string, compress = false): Buffer {
  let body = Buffer.from(json, "utf8");
  let flags = 0;
  if (compress) {
    const packed = deflateRawSync(body, { level: 6 });
    if (packed.length < body.length) {
      body = packed;
      flags = FLAG_DEFLATE;
    }
  }
  const out = Buffer.allocUnsafe(HEADER + 1 + body.length);
  out.writeUInt32BE(body.length + 1, 0);
  out[HEADER] = flags;
  body.copy(out, HEADER + 1);
  return out;
}

export function frame(msg: ClientMessage | ServerMessage): Buffer {
  return frameText(JSON.stringify(msg));
}

/** A KV's wire text, computed once per update and shared by every client that is sent it. */
export function serializeUpdate(u: {
  source: string;
  key: string;
  type: SyncUpdateType;
  value: unknown;
  revision: string;
}): { text: string; valueText: string } {
  let value = u.value;
  let rv: string | undefined;
  const meta = (value as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  if (meta && typeof meta.resourceVersion === "string") {
    rv = meta.resourceVersion;
    const { resourceVersion: _drop, ...rest } = meta as Record<string, unknown>;
    value = { ...(value as Record<string, unknown>), metadata: rest };
  }
  const valueText = u.type === "deleted" ? "null" : JSON.stringify(value ?? null);
  const head = `{"s":${JSON.stringify(u.source)},"k":${JSON.stringify(u.key)},"r":${JSON.stringify(u.revision)}`;
  const rvText = rv === undefined ? "" : `,"rv":${JSON.stringify(rv)}`;
  return { text: `${head}${rvText},"t":${UPDATE_CODE[u.type]},"v":${valueText}}`, valueText };
}

/** The frame text of a KVs message made of already-serialised KVs. */
export function kvsText(kvTexts: readonly string[]): string {
  return `{"type":"KVs","kvs":[${kvTexts.join(",")}]}`;
}

/** Back to the syncer's update: resourceVersion restored into the value's metadata. */
export function deserializeUpdate(kv: SerializedUpdate): {
  source: string;
  key: string;
  type: SyncUpdateType;
  value: unknown;
  revision: string;
} {
  const type = UPDATE_BY_CODE[kv.t];
  if (!type || typeof kv.k !== "string" || typeof kv.s !== "string")
    throw new ProtocolError(`malformed KV ${JSON.stringify(kv).slice(0, 200)}`);
  let value = type === "deleted" ? null : kv.v;
  if (kv.rv !== undefined && value && typeof value === "object") {
    const v = value as { metadata?: Record<string, unknown> };
    value = { ...v, metadata: { ...(v.metadata ?? {}), resourceVersion: kv.rv } };
  }
  return { source: kv.s, key: kv.k, type, value, revision: String(kv.r) };
}

/** TLS records start with a content type (20–23) and major version 3. */
function looksLikeTLS(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] !== undefined && bytes[0] >= 20 && bytes[0] <= 23 && bytes[1] === 3;
}

/**
 * Splits a byte stream into messages. Rejects a frame larger than `maxFrame` before buffering it,
 * so a peer cannot make us hold arbitrary amounts of memory.
 */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);
  #compressionAllowed = false;

  constructor(private readonly maxFrame: number) {}

  /** After the DecoderRestart handshake, compressed frames become legal. */
  allowCompression(): void {
    this.#compressionAllowed = true;
  }

  push(chunk: Buffer): unknown[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: unknown[] = [];
    while (this.#buf.length >= HEADER) {
      const len = this.#buf.readUInt32BE(0);
      if (len === 0 || len > this.maxFrame) {
        if (looksLikeTLS(this.#buf))
          throw new ProtocolError("the peer is speaking TLS, but this side is not configured for TLS");
        throw new ProtocolError(
          `frame of ${len} bytes exceeds the limit of ${this.maxFrame} (not a Typha peer?)`,
        );
      }
      if (this.#buf.length < HEADER + len) break;
      const flags = this.#buf[HEADER] ?? 0;
      let body = this.#buf.subarray(HEADER + 1, HEADER + len);
      this.#buf = this.#buf.subarray(HEADER + len);
      if (flags & FLAG_DEFLATE) {
        if (!this.#compressionAllowed) throw new ProtocolError("compressed frame before DecoderRestart");
        body = inflateRawSync(body);
      }
      let msg: unknown;
      try {
        msg = JSON.parse(body.toString("utf8"));
      } catch (err) {
        throw new ProtocolError(`undecodable frame: ${(err as Error).message}`);
      }
      if (typeof msg !== "object" || msg === null || typeof (msg as { type?: unknown }).type !== "string")
        throw new ProtocolError("frame is not a typed message");
      out.push(msg);
    }
    if (this.#buf.length === 0) this.#buf = Buffer.alloc(0);
    return out;
  }
}
