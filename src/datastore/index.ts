/** Public surface of the datastore: `calico-ts/datastore`. */
export * from "./errors.js";
export { EtcdKV } from "./etcd/etcd-kv.js";
export { DEFAULT_REQUEST_TIMEOUT_MS, type EtcdKVOptions, type EtcdTLSOptions } from "./etcd/options.js";
export type { KeyValue, KVListResult, KVStore, KVWatch, KVWatchEvent, KVWatchListener } from "./kv.js";
export { MemoryKV } from "./memory/memory-kv.js";
export { compareRevisions, parseRevision } from "./revision.js";
export type {
  ListOptions,
  ResourceList,
  ResourceStore,
  ResourceWatchEvent,
  ResourceWatchListener,
  ResourceWatchOptions,
} from "./types.js";
