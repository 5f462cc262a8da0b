/** Public surface of the datastore: `calico-ts/datastore`. */
export {
  type CalicoAPIConfig,
  type CalicoAPIConfigSpec,
  CONFIG_KIND,
  type DatastoreType,
  DEFAULT_CONFIG_PATH,
  type LoadConfigOptions,
  loadClientConfig,
  loadClientConfigFromBytes,
  loadClientConfigFromEnv,
} from "./config.js";
export * from "./errors.js";
export { EtcdKV } from "./etcd/etcd-kv.js";
export { DEFAULT_REQUEST_TIMEOUT_MS, type EtcdKVOptions, type EtcdTLSOptions } from "./etcd/options.js";
export type { KeyValue, KVListResult, KVStore, KVWatch, KVWatchEvent, KVWatchListener } from "./kv.js";
export { MemoryKV } from "./memory/memory-kv.js";
export { etcdOptionsFromConfig, type OpenOptions, openDatastore, type SrvResolver } from "./open.js";
export {
  DEFAULT_ALLOW_PROFILE,
  defaultAllowProfile,
} from "./resources/default-profile.js";
export { POLICY_NAME_ANNOTATION, ValueDecodeError } from "./resources/encoding.js";
export { listPrefix, parseResourcePath, RESOURCE_ROOT, resourcePath } from "./resources/keys.js";
export { CalicoResourceStore, type ResourceStoreOptions } from "./resources/store.js";
export { compareRevisions, parseRevision } from "./revision.js";
export { jsonPrefixSource, prefixSource, resourceSource } from "./syncer/sources.js";
export { Syncer } from "./syncer/syncer.js";
export { AFFINITY_ROOT, BGP_KINDS, bgpSources, felixSources } from "./syncer/syncer-types.js";
export {
  SYNCER_DEFAULTS,
  type SyncerCallbacks,
  type SyncerOptions,
  type SyncSource,
  type SyncStatus,
  type SyncUpdate,
  type SyncUpdateType,
} from "./syncer/types.js";
export type {
  ListOptions,
  ResourceList,
  ResourceStore,
  ResourceWatchEvent,
  ResourceWatchListener,
  ResourceWatchOptions,
} from "./types.js";
