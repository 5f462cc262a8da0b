/**
 * Typha's configuration as Calico's: `TYPHA_<Param>` environment variables (name matched
 * case-insensitively) over the INI file `/etc/calico/typha.cfg`, over defaults. Nothing comes from
 * the datastore. A bad value is an error naming the parameter; Typha refuses to start on it.
 */
import { readFileSync } from "node:fs";
import { type CalicoAPIConfig, ConfigError, loadClientConfigFromEnv } from "../datastore/index.js";
import { pinoLevel } from "../lib/log.js";

export const DEFAULT_TYPHA_CONFIG_FILE = "/etc/calico/typha.cfg";

export class TyphaConfigError extends Error {}

export interface TyphaParams {
  logSeverityScreen: string;
  logSeverityFile: string;
  logSeveritySys: string;
  logFilePath: string;
  healthEnabled: boolean;
  healthHost: string;
  healthPort: number;
  prometheusMetricsEnabled: boolean;
  prometheusMetricsHost: string;
  prometheusMetricsPort: number;
  prometheusProcessMetricsEnabled: boolean;
  snapshotCacheMaxBatchSize: number;
  serverMaxMessageSize: number;
  serverMaxFallBehindSecs: number;
  serverNewClientFallBehindGracePeriod: number;
  serverPingIntervalSecs: number;
  serverPongTimeoutSecs: number;
  serverHandshakeTimeoutSecs: number;
  serverWriteTimeoutSecs: number;
  serverPort: number;
  serverHost: string;
  /** All set, or none (then Typha speaks plain TCP). */
  tls?: {
    caFile: string;
    serverCertFile: string;
    serverKeyFile: string;
    clientCN: string;
    clientURISAN: string;
  };
  connectionRebalancingMode: "none" | "static";
  /** calico-ts: the number of Typha replicas, for `static` rebalancing (Calico counts them in Kubernetes). */
  replicas: number;
  connectionDropIntervalSecs: number;
  shutdownTimeoutSecs: number;
  shutdownConnectionDropIntervalMaxSecs: number;
  maxConnectionsUpperLimit: number;
  maxConnectionsLowerLimit: number;
  /** How often the connection target is recomputed. */
  k8sServicePollIntervalSecs: number;
}

const KNOWN = [
  "DatastoreType",
  "EtcdAddr",
  "EtcdScheme",
  "EtcdEndpoints",
  "EtcdCaFile",
  "EtcdCertFile",
  "EtcdKeyFile",
  "LogFilePath",
  "LogSeverityFile",
  "LogSeverityScreen",
  "LogSeveritySys",
  "HealthEnabled",
  "HealthHost",
  "HealthPort",
  "PrometheusMetricsEnabled",
  "PrometheusMetricsHost",
  "PrometheusMetricsPort",
  "PrometheusGoMetricsEnabled",
  "PrometheusProcessMetricsEnabled",
  "SnapshotCacheMaxBatchSize",
  "ServerMaxMessageSize",
  "ServerMaxFallBehindSecs",
  "ServerNewClientFallBehindGracePeriod",
  "ServerMinBatchingAgeThresholdSecs",
  "ServerPingIntervalSecs",
  "ServerPongTimeoutSecs",
  "ServerHandshakeTimeoutSecs",
  "ServerWriteTimeoutSecs",
  "ServerPort",
  "ServerHost",
  "ServerKeyFile",
  "ServerCertFile",
  "CAFile",
  "ClientCN",
  "ClientURISAN",
  "ConnectionRebalancingMode",
  "Replicas",
  "ConnectionDropIntervalSecs",
  "ShutdownTimeoutSecs",
  "ShutdownConnectionDropIntervalMaxSecs",
  "MaxConnectionsUpperLimit",
  "MaxConnectionsLowerLimit",
  "K8sServicePollIntervalSecs",
] as const;
const BY_LOWER = new Map<string, string>(KNOWN.map((k) => [k.toLowerCase(), k]));

/** Raw parameters, environment over file; empty values count as unset (as in Calico). */
export function rawTyphaConfig(
  env: Readonly<Record<string, string | undefined>>,
  fileText: string,
): { values: Record<string, string>; unknown: string[] } {
  const values: Record<string, string> = {};
  const unknown: string[] = [];
  const put = (name: string, value: string, where: string) => {
    const canonical = BY_LOWER.get(name.toLowerCase());
    if (!canonical) unknown.push(where);
    else if (value.trim() !== "") values[canonical] = value.trim();
  };
  for (const raw of fileText.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";") || line.startsWith("[")) continue;
    const eq = line.indexOf("=");
    if (eq > 0) put(line.slice(0, eq).trim(), line.slice(eq + 1), line.slice(0, eq).trim());
  }
  for (const [key, value] of Object.entries(env))
    if (key.toUpperCase().startsWith("TYPHA_") && value !== undefined) put(key.slice(6), value, key);
  return { values, unknown };
}

export function readTyphaConfigFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new TyphaConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
}

function bool(r: Record<string, string>, name: string, dflt: boolean): boolean {
  const v = r[name];
  if (v === undefined) return dflt;
  const lower = v.toLowerCase();
  if (["true", "1", "yes", "y", "t"].includes(lower)) return true;
  if (["false", "0", "no", "n", "f"].includes(lower)) return false;
  throw new TyphaConfigError(`invalid value for ${name}: '${v}' is not a boolean`);
}

function int(r: Record<string, string>, name: string, dflt: number, min: number, max: number): number {
  const v = r[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || n < min || n > max)
    throw new TyphaConfigError(
      `invalid value for ${name}: '${v}' (expected a whole number from ${min} to ${max})`,
    );
  return n;
}

/** Durations are seconds, floats allowed, as Calico reads them from env and file. */
function secs(r: Record<string, string>, name: string, dflt: number): number {
  const v = r[name];
  if (v === undefined) return dflt;
  if (!/^\d+(\.\d+)?$/.test(v))
    throw new TyphaConfigError(`invalid value for ${name}: '${v}' (expected a number of seconds)`);
  return Number(v);
}

function severity(r: Record<string, string>, name: string): string {
  const v = r[name] ?? "Info";
  if (!pinoLevel(v))
    throw new TyphaConfigError(
      `invalid value for ${name}: '${v}' (expected Debug, Info, Warning, Error, Fatal, Panic or None)`,
    );
  return v;
}

export function parseTyphaParams(raw: Readonly<Record<string, string>>): TyphaParams {
  const r = raw as Record<string, string>;
  const mode = (r.ConnectionRebalancingMode ?? "none").toLowerCase();
  if (mode === "kubernetes")
    throw new TyphaConfigError(
      "invalid value for ConnectionRebalancingMode: 'kubernetes' needs the Kubernetes API, which calico-ts does not use (use none, or static with Replicas)",
    );
  if (mode !== "none" && mode !== "static")
    throw new TyphaConfigError(
      `invalid value for ConnectionRebalancingMode: '${r.ConnectionRebalancingMode}' (expected none or static)`,
    );
  const tlsNames = ["ServerKeyFile", "ServerCertFile", "CAFile", "ClientCN", "ClientURISAN"];
  let tls: TyphaParams["tls"];
  if (tlsNames.some((n) => r[n] !== undefined)) {
    if (!r.ServerKeyFile || !r.ServerCertFile || !r.CAFile || (!r.ClientCN && !r.ClientURISAN))
      throw new TyphaConfigError(
        "if any Typha TLS parameters are set, ServerKeyFile, ServerCertFile, CAFile and ClientCN or ClientURISAN must all be set",
      );
    tls = {
      caFile: r.CAFile,
      serverCertFile: r.ServerCertFile,
      serverKeyFile: r.ServerKeyFile,
      clientCN: r.ClientCN ?? "",
      clientURISAN: r.ClientURISAN ?? "",
    };
  }
  const lower = int(r, "MaxConnectionsLowerLimit", 400, 1, Number.MAX_SAFE_INTEGER);
  const upper = int(r, "MaxConnectionsUpperLimit", 10_000, 1, Number.MAX_SAFE_INTEGER);
  return {
    logSeverityScreen: severity(r, "LogSeverityScreen"),
    logSeverityFile: severity(r, "LogSeverityFile"),
    logSeveritySys: severity(r, "LogSeveritySys"),
    logFilePath: r.LogFilePath ?? "/var/log/calico/typha.log",
    healthEnabled: bool(r, "HealthEnabled", false),
    healthHost: r.HealthHost ?? "localhost",
    healthPort: int(r, "HealthPort", 9098, 0, 65535),
    prometheusMetricsEnabled: bool(r, "PrometheusMetricsEnabled", false),
    prometheusMetricsHost: r.PrometheusMetricsHost ?? "",
    prometheusMetricsPort: int(r, "PrometheusMetricsPort", 9093, 0, 65535),
    prometheusProcessMetricsEnabled: bool(r, "PrometheusProcessMetricsEnabled", true),
    snapshotCacheMaxBatchSize: int(r, "SnapshotCacheMaxBatchSize", 100, 1, Number.MAX_SAFE_INTEGER),
    serverMaxMessageSize: int(r, "ServerMaxMessageSize", 100, 1, Number.MAX_SAFE_INTEGER),
    serverMaxFallBehindSecs: secs(r, "ServerMaxFallBehindSecs", 300),
    serverNewClientFallBehindGracePeriod: secs(r, "ServerNewClientFallBehindGracePeriod", 300),
    serverPingIntervalSecs: secs(r, "ServerPingIntervalSecs", 10),
    serverPongTimeoutSecs: secs(r, "ServerPongTimeoutSecs", 60),
    serverHandshakeTimeoutSecs: secs(r, "ServerHandshakeTimeoutSecs", 10),
    serverWriteTimeoutSecs: secs(r, "ServerWriteTimeoutSecs", 120),
    serverPort: int(r, "ServerPort", 0, 0, 65535),
    serverHost: r.ServerHost ?? "",
    ...(tls ? { tls } : {}),
    connectionRebalancingMode: mode,
    replicas: int(r, "Replicas", 1, 1, 100_000),
    connectionDropIntervalSecs: secs(r, "ConnectionDropIntervalSecs", 1),
    shutdownTimeoutSecs: secs(r, "ShutdownTimeoutSecs", 300),
    shutdownConnectionDropIntervalMaxSecs: secs(r, "ShutdownConnectionDropIntervalMaxSecs", 1),
    maxConnectionsUpperLimit: upper,
    maxConnectionsLowerLimit: lower,
    k8sServicePollIntervalSecs: secs(r, "K8sServicePollIntervalSecs", 30),
  };
}

/** Where Typha finds etcd: its own Etcd* parameters, else the calicoctl-style environment. */
export function typhaDatastoreConfig(
  raw: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv,
): CalicoAPIConfig {
  const type = raw.DatastoreType?.toLowerCase();
  if (type && type !== "etcdv3")
    throw new ConfigError(
      `DatastoreType '${raw.DatastoreType}' is not supported: calico-ts runs on etcdv3 only`,
    );
  const base = loadClientConfigFromEnv(env);
  const endpoints =
    raw.EtcdEndpoints ?? (raw.EtcdAddr ? `${raw.EtcdScheme ?? "http"}://${raw.EtcdAddr}` : "");
  if (endpoints) {
    base.spec.datastoreType = "etcdv3";
    base.spec.etcdEndpoints = endpoints;
    if (raw.EtcdCaFile) base.spec.etcdCACertFile = raw.EtcdCaFile;
    if (raw.EtcdCertFile) base.spec.etcdCertFile = raw.EtcdCertFile;
    if (raw.EtcdKeyFile) base.spec.etcdKeyFile = raw.EtcdKeyFile;
  }
  if (base.spec.datastoreType !== "etcdv3" || (!base.spec.etcdEndpoints && !base.spec.etcdDiscoverySrv))
    throw new ConfigError("no etcd datastore configured: set TYPHA_ETCDENDPOINTS (or ETCD_ENDPOINTS)");
  return base;
}

/**
 * Calico's connection target: a lone Typha takes everything up to the upper limit; otherwise each
 * takes its share of nodes × syncer types as if one replica were down, plus 20 %, clamped to
 * [lower, upper]. Integer arithmetic, as Calico's.
 */
export function maxConnLimit(
  limits: { lower: number; upper: number },
  numTyphas: number,
  numNodes: number,
  numSyncerTypes: number,
): number {
  if (numTyphas <= 1) return limits.upper;
  const share = Math.floor(Math.floor((numNodes * 120) / (numTyphas - 1)) / 100);
  const candidate = numSyncerTypes * (1 + share);
  return Math.min(limits.upper, Math.max(limits.lower, candidate));
}
