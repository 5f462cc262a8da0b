/**
 * The network configuration a runtime passes on stdin, with Calico's field names and defaults.
 * Unknown fields are ignored (chained plugins and IPAM plugins read their own); a known field of
 * the wrong type is an error that names the field.
 */
import { CniError, ErrorCode } from "./errors.js";

export type LogLevel = "debug" | "info" | "warning" | "error";

export interface IpamConf {
  /** Empty when the config has no `ipam` section. */
  type: string;
  assignIpv4: boolean;
  assignIpv6: boolean;
  ipv4Pools: string[];
  ipv6Pools: string[];
}

export interface EtcdConf {
  endpoints?: string;
  discoverySrv?: string;
  scheme?: string;
  keyFile?: string;
  certFile?: string;
  caCertFile?: string;
  authority?: string;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** Undefined when the config does not say; DATASTORE_TYPE or etcdv3 applies then. */
  datastoreType?: string;
  etcd: EtcdConf;
  logLevel: LogLevel;
  logFilePath?: string;
  logFileMaxSizeMB: number;
  logFileMaxCount: number;
  /** 0 means "from the MTU file, else 1500" (resolved at ADD time). */
  mtu: number;
  requireMtuFile: boolean;
  /** Where Felix wrote the pod MTU (calico-ts: settable so several nodes can share a host). */
  mtuFilePath: string;
  numQueues: number;
  nodename?: string;
  nodenameFile: string;
  nodenameFileOptional: boolean;
  hostname?: string;
  ipamLockFile: string;
  ipam: IpamConf;
  policyType: string;
  allowIpForwarding: boolean;
  /** `feature_control`: gates for the `ipAddrsNoIpam` and `floatingIPs` annotations. */
  featureControl: { ipAddrsNoIpam: boolean; floatingIps: boolean };
  readinessGates: string[];
  /** The whole object as received, passed on untouched to delegated IPAM plugins. */
  raw: Record<string, unknown>;
}

export const DEFAULT_NODENAME_FILE = "/var/lib/calico/nodename";
export const DEFAULT_MTU_FILE = "/var/lib/calico/mtu";
export const DEFAULT_IPAM_LOCK_FILE = "/var/run/calico/ipam.lock";
const NETWORK_NAME = /^[a-zA-Z0-9_.-]+$/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function invalid(field: string, want: string, got: unknown): CniError {
  const shown = typeof got === "string" ? `"${got}"` : JSON.stringify(got);
  return new CniError(
    ErrorCode.invalidNetworkConfig,
    `invalid network config: field "${field}" must be ${want}, got ${shown}`,
  );
}

/** Typed accessors for one JSON object; `prefix` qualifies field names in errors. */
function reader(obj: Obj, prefix = "") {
  const name = (k: string) => `${prefix}${k}`;
  return {
    str(k: string): string | undefined {
      const v = obj[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== "string") throw invalid(name(k), "a string", v);
      return v;
    },
    int(k: string, dflt: number): number {
      const v = obj[k];
      if (v === undefined || v === null) return dflt;
      if (typeof v !== "number" || !Number.isInteger(v)) throw invalid(name(k), "an integer", v);
      return v;
    },
    bool(k: string): boolean {
      const v = obj[k];
      if (v === undefined || v === null) return false;
      if (typeof v !== "boolean") throw invalid(name(k), "true or false", v);
      return v;
    },
    strings(k: string): string[] {
      const v = obj[k];
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
        throw invalid(name(k), "an array of strings", v);
      }
      return v as string[];
    },
    obj(k: string): Obj {
      const v = obj[k];
      if (v === undefined || v === null) return {};
      if (!isObj(v)) throw invalid(name(k), "an object", v);
      return v;
    },
  };
}

/** Calico reads these two as strings; a JSON boolean is a config error there, and here. */
function stringFlag(r: ReturnType<typeof reader>, key: string, dflt: boolean): boolean {
  const v = r.str(key);
  if (v === undefined || v === "") return dflt;
  return dflt ? v !== "false" : v === "true";
}

/** Calico's names (logrus's): anything else, or nothing, is info. */
function parseLogLevel(v: string | undefined): LogLevel {
  const l = (v ?? "").toLowerCase();
  if (l === "warn" || l === "warning") return "warning";
  if (l === "fatal" || l === "panic") return "error";
  return l === "debug" || l === "error" ? l : "info";
}

/** Parses stdin; `defaultVersion` applies when `cniVersion` is absent. */
export function parseNetConf(stdin: string, defaultVersion: string): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(
      ErrorCode.decodingFailure,
      "error parsing network config from stdin",
      (err as Error).message,
    );
  }
  if (!isObj(raw)) {
    throw new CniError(
      ErrorCode.decodingFailure,
      "error parsing network config from stdin",
      "not a JSON object",
    );
  }
  const r = reader(raw);
  const name = r.str("name");
  if (!name) throw new CniError(ErrorCode.invalidNetworkConfig, "missing network name");
  if (!NETWORK_NAME.test(name)) {
    throw new CniError(ErrorCode.invalidNetworkConfig, "invalid characters found in network name", name);
  }
  const ipamObj = r.obj("ipam");
  const ipam = reader(ipamObj, "ipam.");
  const deviceType = r.str("device_type") ?? "";
  if (!["", "veth", "netkit"].includes(deviceType))
    throw invalid("device_type", '"veth" or "netkit"', deviceType);
  const policy = reader(r.obj("policy"), "policy.");
  const container = reader(r.obj("container_settings"), "container_settings.");
  const features = reader(r.obj("feature_control"), "feature_control.");
  const numQueues = r.int("num_queues", 1);
  const mtu = r.int("mtu", 0);
  if (mtu < 0) throw invalid("mtu", "a non-negative integer", mtu);

  return {
    cniVersion: r.str("cniVersion") || defaultVersion,
    name,
    type: r.str("type") ?? "",
    datastoreType: r.str("datastore_type") || undefined,
    etcd: {
      endpoints: r.str("etcd_endpoints"),
      discoverySrv: r.str("etcd_discovery_srv"),
      scheme: r.str("etcd_scheme"),
      keyFile: r.str("etcd_key_file"),
      certFile: r.str("etcd_cert_file"),
      caCertFile: r.str("etcd_ca_cert_file"),
      authority: r.str("etcd_authority"),
    },
    logLevel: parseLogLevel(r.str("log_level")),
    logFilePath: r.str("log_file_path") || undefined,
    logFileMaxSizeMB: r.int("log_file_max_size", 100),
    logFileMaxCount: r.int("log_file_max_count", 10),
    mtu,
    requireMtuFile: r.bool("require_mtu_file"),
    mtuFilePath: r.str("mtu_file_path") || DEFAULT_MTU_FILE,
    numQueues: numQueues <= 0 ? 1 : numQueues,
    nodename: r.str("nodename") || undefined,
    nodenameFile: r.str("nodename_file") || DEFAULT_NODENAME_FILE,
    nodenameFileOptional: r.bool("nodename_file_optional"),
    hostname: r.str("hostname") || undefined,
    ipamLockFile: r.str("ipam_lock_file") || DEFAULT_IPAM_LOCK_FILE,
    ipam: {
      type: ipam.str("type") ?? "",
      assignIpv4: stringFlag(ipam, "assign_ipv4", true),
      assignIpv6: stringFlag(ipam, "assign_ipv6", false),
      ipv4Pools: ipam.strings("ipv4_pools"),
      ipv6Pools: ipam.strings("ipv6_pools"),
    },
    policyType: policy.str("type") ?? "",
    allowIpForwarding: container.bool("allow_ip_forwarding"),
    featureControl: {
      ipAddrsNoIpam: features.bool("ip_addrs_no_ipam"),
      floatingIps: features.bool("floating_ips"),
    },
    readinessGates: r.strings("readiness_gates"),
    raw,
  };
}
