/**
 * Connection settings shared by both etcd clients (gRPC and the v3 JSON gateway), and the TLS
 * material they both read. Kept free of either client library so that a caller choosing one
 * never loads the other.
 */
import { readFileSync } from "node:fs";
import { DatastoreError } from "./errors.js";

export interface EtcdTLSOptions {
  /** PEM files. */
  caCertFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Inline PEM; cannot be mixed with the file forms. */
  caCert?: string;
  cert?: string;
  key?: string;
}

export interface EtcdKVOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379` or `unix:///run/etcd.sock`; all http or all https. */
  endpoints: string[];
  tls?: EtcdTLSOptions;
  /** Used only when both are set, as Calico does. */
  username?: string;
  password?: string;
  /** Deadline of every unary request (per endpoint tried). Default 10 s, Calico's dial timeout. */
  requestTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** TLS material as loaded PEM; `ca` absent means "verify against the system's roots". */
export interface TLSMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new DatastoreError(`failed to read etcd ${what} file ${path}: ${(err as Error).message}`);
  }
}

/** Reads and checks the TLS settings; undefined when none are given (plain http). */
export function loadTLSMaterial(tls: EtcdTLSOptions | undefined): TLSMaterial | undefined {
  if (!tls) return undefined;
  const inline = Boolean(tls.caCert || tls.cert || tls.key);
  const files = Boolean(tls.caCertFile || tls.certFile || tls.keyFile);
  if (inline && files) {
    throw new DatastoreError("cannot mix inline etcd TLS certificates with certificate files");
  }
  if (!inline && !files) return undefined;
  const pem = (file: string | undefined, text: string | undefined, what: string) =>
    file ? readPem(file, what) : text ? Buffer.from(text) : undefined;
  const ca = pem(tls.caCertFile, tls.caCert, "CA certificate");
  const cert = pem(tls.certFile, tls.cert, "certificate");
  const key = pem(tls.keyFile, tls.key, "key");
  if (Boolean(cert) !== Boolean(key)) {
    throw new DatastoreError("etcd TLS needs both a client certificate and its key, or neither");
  }
  return { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
}

/** The end of the key range holding every key that starts with `prefix` (etcd's rule). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  // An empty (or all-0xff) prefix covers everything: etcd spells "to the end" as a single NUL.
  return Buffer.from([0]);
}
