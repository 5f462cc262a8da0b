/**
 * Connection settings for EtcdKV and their translation into the etcd3 client's options:
 * endpoints, TLS material, password auth and the timeouts that keep an unreachable etcd from
 * hanging a caller.
 */
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { type IOptions, isRecoverableError } from "etcd3";
import { DatastoreError } from "../errors.js";

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
  /** Client URLs, e.g. `http://127.0.0.1:2379`; all http or all https. */
  endpoints: string[];
  tls?: EtcdTLSOptions;
  /** Used only when both are set, as Calico does. */
  username?: string;
  password?: string;
  /** Deadline of every unary request (per endpoint tried). Default 10 s, Calico's dial timeout. */
  requestTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

type FaultPolicy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;
type PolicyFn = Parameters<FaultPolicy["execute"]>[0];

/**
 * A policy with only `execute`, which is all the etcd3 client calls. Building it ourselves keeps
 * cockatiel (a dependency of etcd3, not ours) out of our imports.
 */
function policy(run: (fn: PolicyFn) => Promise<unknown>): FaultPolicy {
  return { execute: run } as unknown as FaultPolicy;
}

function callOnce(fn: PolicyFn): Promise<unknown> {
  return Promise.resolve(fn({ signal: new AbortController().signal } as Parameters<PolicyFn>[0]));
}

/**
 * Each retry goes to the next endpoint, so a call tries every endpoint once. etcd3's default
 * per-host circuit breaker is replaced: it kept refusing calls for 5 s after etcd came back.
 */
function tryEachEndpoint(count: number): FaultPolicy {
  return policy(async (fn) => {
    let lastError: unknown;
    for (let attempt = 0; attempt < count; attempt++) {
      try {
        return await callOnce(fn);
      } catch (err) {
        lastError = err;
        if (!(err instanceof Error) || !isRecoverableError(err)) throw err;
      }
    }
    throw lastError;
  });
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new DatastoreError(`failed to read etcd ${what} file ${path}: ${(err as Error).message}`);
  }
}

function credentials(tls: EtcdTLSOptions | undefined): IOptions["credentials"] {
  if (!tls) return undefined;
  const inline = Boolean(tls.caCert || tls.cert || tls.key);
  const files = Boolean(tls.caCertFile || tls.certFile || tls.keyFile);
  if (inline && files) {
    throw new DatastoreError("cannot mix inline etcd TLS certificates with certificate files");
  }
  if (!inline && !files) return undefined;
  const ca = tls.caCertFile ? readPem(tls.caCertFile, "CA certificate") : tls.caCert;
  const cert = tls.certFile ? readPem(tls.certFile, "certificate") : tls.cert;
  const key = tls.keyFile ? readPem(tls.keyFile, "key") : tls.key;
  if (Boolean(cert) !== Boolean(key)) {
    throw new DatastoreError("etcd TLS needs both a client certificate and its key, or neither");
  }
  return {
    // Without an explicit CA the server is verified against the system's roots.
    rootCertificate: Buffer.from(ca ?? rootCertificates.join("\n")),
    ...(cert && key ? { certChain: Buffer.from(cert), privateKey: Buffer.from(key) } : {}),
  };
}

export function buildClientOptions(opts: EtcdKVOptions): IOptions {
  if (opts.endpoints.length === 0) throw new DatastoreError("no etcd endpoints configured");
  const timeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const auth =
    opts.username && opts.password ? { auth: { username: opts.username, password: opts.password } } : {};
  const creds = credentials(opts.tls);
  return {
    hosts: opts.endpoints,
    ...(creds ? { credentials: creds } : {}),
    ...auth,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    faultHandling: { host: () => policy(callOnce), global: tryEachEndpoint(opts.endpoints.length) },
    grpcOptions: {
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      // gRPC's default backoff grows to 2 minutes; a restarted etcd should be picked up promptly.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 2_000,
    },
  };
}
