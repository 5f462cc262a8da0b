/**
 * Connection settings for EtcdKV and their translation into the etcd3 client's options:
 * endpoints, TLS material, password auth and the timeouts that keep an unreachable etcd from
 * hanging a caller.
 */
import { rootCertificates } from "node:tls";
import { type IOptions, isRecoverableError } from "etcd3";
import { DatastoreError } from "../errors.js";
import { DEFAULT_REQUEST_TIMEOUT_MS, type EtcdKVOptions, loadTLSMaterial } from "../etcd-settings.js";

export { DEFAULT_REQUEST_TIMEOUT_MS, type EtcdKVOptions, type EtcdTLSOptions } from "../etcd-settings.js";

type FaultPolicy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;
type PolicyFn = Parameters<FaultPolicy["execute"]>[0];

/**
 * A policy with only `execute`, which is all the etcd3 client calls. Building it ourselves keeps
 * cockatiel (a dependency of etcd3, not ours) out of our imports.
 */
function policy(run: (fn: PolicyFn) => Promise<unknown>): FaultPolicy {
  return { execute: run } as unknown as FaultPolicy;
}

/**
 * The context a policy hands the call. etcd3's calls ignore it, so one signal that never aborts
 * serves every call (an AbortController per call was ~2% of the CPU of a fast-path allocation).
 */
const POLICY_CONTEXT = { signal: new AbortController().signal } as Parameters<PolicyFn>[0];

function callOnce(fn: PolicyFn): Promise<unknown> {
  return Promise.resolve(fn(POLICY_CONTEXT));
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

function credentials(opts: EtcdKVOptions): IOptions["credentials"] {
  const tls = loadTLSMaterial(opts.tls);
  if (!tls) return undefined;
  return {
    // Without an explicit CA the server is verified against the system's roots.
    rootCertificate: tls.ca ?? Buffer.from(rootCertificates.join("\n")),
    ...(tls.cert && tls.key ? { certChain: tls.cert, privateKey: tls.key } : {}),
  };
}

export function buildClientOptions(opts: EtcdKVOptions): IOptions {
  if (opts.endpoints.length === 0) throw new DatastoreError("no etcd endpoints configured");
  const timeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const auth =
    opts.username && opts.password ? { auth: { username: opts.username, password: opts.password } } : {};
  const creds = credentials(opts);
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
      // Channelz (gRPC's introspection service, which nothing here serves) bookkeeps every call:
      // ~100 µs of CPU per call on a loaded 2-core host, a quarter of the client's cost.
      "grpc.enable_channelz": 0,
    },
  };
}
