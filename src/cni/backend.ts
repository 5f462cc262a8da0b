/**
 * Opens the datastore for one plugin run. A plugin process lives for one request, so what it
 * costs to load a client matters as much as the requests: by default the plugins talk to etcd's
 * v3 JSON gateway with Node's own http module (EtcdHttpKV) and never load the gRPC client, which
 * took longer to load than a whole ADD spends talking to etcd. `CALICO_ETCD_CLIENT=grpc` chooses
 * the gRPC client instead (for an etcd whose gateway is disabled or proxied away).
 */
import type { KVStore } from "../datastore/kv.js";
import type { ResourceStore } from "../datastore/types.js";
import type { NetConf } from "./config.js";
import { currentRun, runEnv } from "./context.js";
import { type DatastoreSettings, datastoreSettings } from "./datastore-config.js";
import { CniError, ErrorCode } from "./errors.js";

/** A plugin run must not hang on an unreachable etcd; Calico's client gives up after 10 s too. */
const REQUEST_TIMEOUT_MS = 10_000;

export type EtcdClientKind = "http" | "grpc";

export function etcdClientKind(env: NodeJS.ProcessEnv = runEnv()): EtcdClientKind {
  const value = env.CALICO_ETCD_CLIENT ?? "";
  if (value === "" || value === "http") return "http";
  if (value === "grpc") return "grpc";
  throw new CniError(
    ErrorCode.invalidEnvironment,
    `invalid CALICO_ETCD_CLIENT "${value}"`,
    'expected "http" (etcd\'s v3 JSON gateway, the default) or "grpc"',
  );
}

async function kvFor(s: DatastoreSettings, kind: EtcdClientKind): Promise<KVStore> {
  const tls =
    s.caCertFile || s.certFile || s.keyFile
      ? { caCertFile: s.caCertFile, certFile: s.certFile, keyFile: s.keyFile }
      : undefined;
  const opts = {
    endpoints: s.endpoints,
    tls,
    username: s.username,
    password: s.password,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  };
  if (kind === "grpc") return new (await import("../datastore/etcd/etcd-kv.js")).EtcdKV(opts);
  return new (await import("../datastore/etcd-http/index.js")).EtcdHttpKV(opts);
}

export async function storeFor(s: DatastoreSettings, kind = etcdClientKind()): Promise<ResourceStore> {
  const [{ CalicoResourceStore }, kv] = await Promise.all([
    import("../datastore/resources/store.js"),
    kvFor(s, kind),
  ]);
  return new CalicoResourceStore(kv);
}

/**
 * The run's datastore. In the node agent, runs with the same settings share one store, opened by
 * the first: its connections, and what IPAM learnt of the host's blocks, outlive the run.
 */
export function openStore(conf: NetConf): Promise<ResourceStore> {
  const settings = datastoreSettings(conf);
  const kind = etcdClientKind();
  const kept = currentRun().stores;
  if (!kept) return storeFor(settings, kind);
  const key = JSON.stringify([kind, settings]);
  let store = kept.get(key);
  if (!store) {
    store = storeFor(settings, kind);
    kept.set(key, store);
    // A failed open is not kept: the next run tries again.
    store.catch(() => kept.delete(key));
  }
  return store;
}

/**
 * Closing is best effort: a plugin process exits right after, which drops the connection anyway.
 * A store the node agent keeps stays open.
 */
export async function closeStore(store: ResourceStore): Promise<void> {
  if (currentRun().stores) return;
  await store.close().catch(() => {});
}
