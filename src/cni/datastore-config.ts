/**
 * Where the plugins find the datastore. Calico exports the network config's etcd fields as
 * ETCD_* variables and then reads its standard client configuration from the environment; the
 * effect is "config field, else environment variable, else default", which is what this does.
 */
import type { NetConf } from "./config.js";
import { runEnv } from "./context.js";
import { CniError, ErrorCode } from "./errors.js";

export interface DatastoreSettings {
  endpoints: string[];
  caCertFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
}

export const DEFAULT_ETCD_ENDPOINT = "http://127.0.0.1:2379";

export function datastoreSettings(conf: NetConf, env: NodeJS.ProcessEnv = runEnv()): DatastoreSettings {
  const type = conf.datastoreType || env.DATASTORE_TYPE || "etcdv3";
  if (type !== "etcdv3") {
    throw new CniError(
      ErrorCode.invalidNetworkConfig,
      `unsupported datastore_type "${type}"`,
      'calico-ts stores its data in etcd v3: set "datastore_type": "etcdv3" with etcd_endpoints',
    );
  }
  const pick = (field: string | undefined, variable: string) => field || env[variable] || undefined;
  if (pick(conf.etcd.discoverySrv, "ETCD_DISCOVERY_SRV")) {
    throw new CniError(
      ErrorCode.invalidNetworkConfig,
      "etcd_discovery_srv is not supported",
      "list the etcd client URLs in etcd_endpoints instead",
    );
  }
  let endpoints = (pick(conf.etcd.endpoints, "ETCD_ENDPOINTS") ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (endpoints.length === 0) {
    const authority = pick(conf.etcd.authority, "ETCD_AUTHORITY");
    const scheme = pick(conf.etcd.scheme, "ETCD_SCHEME") ?? "http";
    endpoints = authority ? [`${scheme}://${authority}`] : [DEFAULT_ETCD_ENDPOINT];
  }
  for (const e of endpoints) {
    // etcd's clients also take unix sockets (`unix:///path`), which reach a host etcd from any netns.
    if (!/^https?:\/\/[^/]+\/?$/.test(e) && !/^unix:\/\/\/.+/.test(e)) {
      throw new CniError(
        ErrorCode.invalidNetworkConfig,
        `invalid etcd endpoint "${e}"`,
        "expected http(s)://host:port or unix:///path",
      );
    }
  }
  const settings: DatastoreSettings = { endpoints };
  const ca = pick(conf.etcd.caCertFile, "ETCD_CA_CERT_FILE");
  const cert = pick(conf.etcd.certFile, "ETCD_CERT_FILE");
  const key = pick(conf.etcd.keyFile, "ETCD_KEY_FILE");
  if (ca) settings.caCertFile = ca;
  if (cert) settings.certFile = cert;
  if (key) settings.keyFile = key;
  if (env.ETCD_USERNAME && env.ETCD_PASSWORD) {
    settings.username = env.ETCD_USERNAME;
    settings.password = env.ETCD_PASSWORD;
  }
  return settings;
}
