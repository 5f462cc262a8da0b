/**
 * Opens the datastore for one plugin run. The etcd client is the heaviest thing the plugins
 * load (~130 ms of module loading), so it is imported here, lazily, only by verbs that talk to
 * the datastore.
 */
import type { ResourceStore } from "../datastore/index.js";
import type { NetConf } from "./config.js";
import { type DatastoreSettings, datastoreSettings } from "./datastore-config.js";

/** A plugin run must not hang on an unreachable etcd; Calico's client gives up after 10 s too. */
const REQUEST_TIMEOUT_MS = 10_000;

export async function storeFor(s: DatastoreSettings): Promise<ResourceStore> {
  const { CalicoResourceStore, EtcdKV } = await import("../datastore/index.js");
  const tls =
    s.caCertFile || s.certFile || s.keyFile
      ? { caCertFile: s.caCertFile, certFile: s.certFile, keyFile: s.keyFile }
      : undefined;
  const kv = new EtcdKV({
    endpoints: s.endpoints,
    tls,
    username: s.username,
    password: s.password,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  return new CalicoResourceStore(kv);
}

export function openStore(conf: NetConf): Promise<ResourceStore> {
  return storeFor(datastoreSettings(conf));
}

/** Closing is best effort: the process exits right after, which drops the connection anyway. */
export async function closeStore(store: ResourceStore): Promise<void> {
  await store.close().catch(() => {});
}
