/** Typha: one datastore watch per syncer type, fanned out to many Felix and confd clients. */
export { type CacheOptions, type Crumb, SnapshotCache } from "./cache.js";
export { type ClientTls, parseAddress, type TyphaClientOptions, TyphaSyncClient } from "./client.js";
export { type TyphaClientSettings, typhaClientSettings, typhaParamsFromEnv } from "./client-config.js";
export {
  DEFAULT_TYPHA_CONFIG_FILE,
  maxConnLimit,
  parseTyphaParams,
  rawTyphaConfig,
  readTyphaConfigFile,
  TyphaConfigError,
  type TyphaParams,
  typhaDatastoreConfig,
} from "./config.js";
export { startTypha, type TyphaHandle, type TyphaOptions } from "./daemon.js";
export { TyphaMetrics } from "./metrics.js";
export { DEFAULT_PORT, SYNCER_TYPES, type SyncerType } from "./proto.js";
export { SERVER_DEFAULTS, type ServerTls, SyncServer, type SyncServerOptions } from "./server.js";
export { certificateMismatch, readTlsFiles, TlsConfigError } from "./tls.js";
