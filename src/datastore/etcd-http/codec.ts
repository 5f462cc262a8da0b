/**
 * The v3 JSON gateway's wire shapes: keys and values in base64, int64 fields as decimal strings,
 * fields at their proto3 default omitted; and its error bodies mapped onto the datastore's
 * typed errors with the same texts the gRPC client's errors produce.
 */
import { DatastoreError } from "../errors.js";
import { revisionFailure, saysUnavailable, unavailable } from "../etcd-failures.js";
import type { KeyValue } from "../kv.js";

export interface WireKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
}

export interface WireHeader {
  revision?: string;
}

export const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
export const b64Bytes = (bytes: Buffer): string => bytes.toString("base64");
const unb64 = (text: string | undefined): string => Buffer.from(text ?? "", "base64").toString("utf8");

export function toKeyValue(kv: WireKeyValue): KeyValue {
  return {
    key: unb64(kv.key),
    value: unb64(kv.value),
    modRevision: kv.mod_revision ?? "0",
    createRevision: kv.create_revision ?? "0",
    version: kv.version ?? "0",
  };
}

export const revisionOf = (header: WireHeader | undefined): string => header?.revision ?? "0";

/** gRPC status codes the gateway reports in `code`. */
const GRPC_UNKNOWN = 2;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/** An error body from the gateway: `{"error": "...", "message": "...", "code": N}`. */
export class GatewayError extends Error {
  override name = "GatewayError";
  constructor(
    message: string,
    readonly code: number,
    readonly status: number,
  ) {
    super(message);
  }

  static from(body: unknown, status: number): GatewayError {
    const b = (body ?? {}) as { message?: unknown; error?: unknown; code?: unknown };
    const message =
      typeof b.message === "string" ? b.message : typeof b.error === "string" ? b.error : `HTTP ${status}`;
    return new GatewayError(message, typeof b.code === "number" ? b.code : 0, status);
  }
}

export function translateGatewayError(err: unknown, endpoints: readonly string[], revision?: string): Error {
  if (err instanceof DatastoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const byRevision = revisionFailure(message, revision);
  if (byRevision) return byRevision;
  const code = err instanceof GatewayError ? err.code : GRPC_UNKNOWN;
  if (
    code === GRPC_UNAVAILABLE ||
    code === GRPC_DEADLINE_EXCEEDED ||
    (err instanceof GatewayError && err.status >= 502) ||
    saysUnavailable(message)
  ) {
    return unavailable(endpoints, message);
  }
  return new DatastoreError(`etcd request failed: ${message}`);
}
