/**
 * From a CalicoAPIConfig to a connected ResourceStore. calico-ts implements the etcd v3
 * datastore only, so a Kubernetes configuration is refused with a pointer to the etcd settings.
 */
import { resolveSrv as systemResolveSrv } from "node:dns/promises";
import type { CalicoAPIConfig } from "./config.js";
import { ConfigError } from "./errors.js";
import { EtcdKV } from "./etcd/etcd-kv.js";
import type { EtcdKVOptions, EtcdTLSOptions } from "./etcd/options.js";
import { CalicoResourceStore } from "./resources/store.js";
import type { ResourceStore } from "./types.js";

export type SrvResolver = (name: string) => Promise<Array<{ name: string; port: number }>>;

export interface OpenOptions {
  requestTimeoutMs?: number;
  /** DNS SRV lookup, replaceable for tests. */
  resolveSrv?: SrvResolver;
  /** Told about each stored value a list skipped because it could not be decoded. */
  onSkipped?: (key: string, reason: string) => void;
}

function splitEndpoints(list: string): string[] {
  return list
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
}

/** etcd's client discovery: `_etcd-client-ssl._tcp` (https) first, then `_etcd-client._tcp` (http). */
async function discoverEndpoints(domain: string, resolveSrv: SrvResolver): Promise<string[]> {
  for (const [service, scheme] of [
    ["_etcd-client-ssl._tcp", "https"],
    ["_etcd-client._tcp", "http"],
  ] as const) {
    try {
      const records = await resolveSrv(`${service}.${domain}`);
      if (records.length > 0) return records.map((r) => `${scheme}://${r.name.replace(/\.$/, "")}:${r.port}`);
    } catch {
      // Try the next service name; the error below covers both failing.
    }
  }
  throw new ConfigError(`failed to discover etcd endpoints through SRV records of ${domain}`);
}

function tlsOptions(spec: CalicoAPIConfig["spec"]): EtcdTLSOptions | undefined {
  const files = spec.etcdKeyFile || spec.etcdCertFile || spec.etcdCACertFile;
  const inline = spec.etcdKey || spec.etcdCert || spec.etcdCACert;
  if (files && inline) throw new ConfigError("cannot mix inline certificate-key and certificate / key files");
  if (!files && !inline) return undefined;
  const tls: EtcdTLSOptions = {};
  if (spec.etcdCACertFile) tls.caCertFile = spec.etcdCACertFile;
  if (spec.etcdCertFile) tls.certFile = spec.etcdCertFile;
  if (spec.etcdKeyFile) tls.keyFile = spec.etcdKeyFile;
  if (spec.etcdCACert) tls.caCert = spec.etcdCACert;
  if (spec.etcdCert) tls.cert = spec.etcdCert;
  if (spec.etcdKey) tls.key = spec.etcdKey;
  return tls;
}

/** The EtcdKV settings a config describes (resolving SRV discovery if configured). */
export async function etcdOptionsFromConfig(
  config: CalicoAPIConfig,
  opts: OpenOptions = {},
): Promise<EtcdKVOptions> {
  const spec = config.spec;
  if (spec.datastoreType === "kubernetes") {
    throw new ConfigError(
      "datastore type 'kubernetes' is not supported by calico-ts, which only implements the etcdv3 datastore; " +
        "point it at etcd with ETCD_ENDPOINTS (or spec.etcdEndpoints in the config file)",
    );
  }
  if (spec.datastoreType !== "etcdv3") {
    throw new ConfigError(`unknown datastore type '${spec.datastoreType}': calico-ts supports 'etcdv3'`);
  }
  if (spec.etcdEndpoints && spec.etcdDiscoverySrv) {
    throw new ConfigError(
      'multiple discovery or bootstrap options specified, use either "etcdEndpoints" or "etcdDiscoverySrv"',
    );
  }
  const endpoints = spec.etcdDiscoverySrv
    ? await discoverEndpoints(spec.etcdDiscoverySrv, opts.resolveSrv ?? systemResolveSrv)
    : splitEndpoints(spec.etcdEndpoints);
  if (endpoints.length === 0) throw new ConfigError("no etcd endpoints configured: set ETCD_ENDPOINTS");
  const tls = tlsOptions(spec);
  return {
    endpoints,
    ...(tls ? { tls } : {}),
    ...(spec.etcdUsername && spec.etcdPassword
      ? { username: spec.etcdUsername, password: spec.etcdPassword }
      : {}),
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
  };
}

/** Connects to the configured etcd and returns Calico's resource store on it. */
export async function openDatastore(config: CalicoAPIConfig, opts: OpenOptions = {}): Promise<ResourceStore> {
  return new CalicoResourceStore(
    new EtcdKV(await etcdOptionsFromConfig(config, opts)),
    opts.onSkipped ? { onSkipped: opts.onSkipped } : {},
  );
}
