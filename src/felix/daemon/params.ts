/**
 * The typed Felix parameters the daemon itself acts on, parsed from the effective config strings
 * (after precedence) with Calico's defaults. A value that does not parse is an error naming the
 * parameter: Felix refuses to start on bad local config rather than guess.
 */
import { pinoLevel } from "../../lib/log.js";
import { parseFailsafePorts } from "../dataplane/index.js";

export interface FelixParams {
  healthEnabled: boolean;
  healthHost: string;
  healthPort: number;
  prometheusMetricsEnabled: boolean;
  prometheusMetricsHost: string;
  prometheusMetricsPort: number;
  logSeverityScreen: string;
  logSeverityFile: string;
  /** Threshold for the local syslog socket. */
  logSeveritySys: string;
  logFilePath: string;
  /** Seconds; 0 disables the periodic policy resync. */
  policyRefreshInterval: number;
  /** Seconds; 0 disables the periodic route resync. */
  routeRefreshInterval: number;
  /** Seconds the main loop may go without reporting before it counts as not live. */
  dataplaneWatchdogTimeout: number;
  flowLogs: FlowLogParams;
}

/** Flow logs: on when either output is; records are written every `flushInterval` seconds. */
export interface FlowLogParams {
  enabled: boolean;
  fileEnabled: boolean;
  fileDirectory: string;
  fileMaxFiles: number;
  fileMaxFileSizeMB: number;
  flushInterval: number;
  httpEnabled: boolean;
  httpHost: string;
  httpPort: number;
}

export class FelixConfigError extends Error {}

const TRUE_WORDS = ["true", "1", "yes", "y", "t"];

/** Whether a Felix boolean parameter's text says true (anything else, or absent, is not). */
export function saysTrue(v: string | undefined): boolean {
  return v !== undefined && TRUE_WORDS.includes(v.trim().toLowerCase());
}

function bool(raw: Record<string, string>, name: string, dflt: boolean): boolean {
  const v = raw[name];
  if (v === undefined) return dflt;
  if (saysTrue(v)) return true;
  const lower = v.trim().toLowerCase();
  if (["false", "0", "no", "n", "f"].includes(lower)) return false;
  throw new FelixConfigError(`invalid value for ${name}: '${v}' is not a boolean`);
}

function port(raw: Record<string, string>, name: string, dflt: number): number {
  const v = raw[name];
  if (v === undefined) return dflt;
  const n = Number(v.trim());
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new FelixConfigError(`invalid value for ${name}: '${v}' is not a port number (0-65535)`);
  return n;
}

/** Seconds as Felix writes them: a plain number (`90`, `0.5`) or a Go duration (`90s`, `1m30s`). */
function seconds(raw: Record<string, string>, name: string, dflt: number): number {
  const v = raw[name];
  if (v === undefined) return dflt;
  const text = v.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  let rest = text;
  while (rest !== "") {
    const m = /^(\d+(?:\.\d+)?)(ms|h|m|s)/.exec(rest);
    if (!m?.[1] || !m[2]) throw new FelixConfigError(`invalid value for ${name}: '${v}' is not a duration`);
    total += Number(m[1]) * (unit[m[2]] ?? 0);
    rest = rest.slice(m[0].length);
  }
  return total;
}

function positiveInt(raw: Record<string, string>, name: string, dflt: number): number {
  const v = raw[name];
  if (v === undefined) return dflt;
  const n = Number(v.trim());
  if (!Number.isInteger(n) || n < 1)
    throw new FelixConfigError(`invalid value for ${name}: '${v}' is not a whole number of at least 1`);
  return n;
}

export function parseFlowLogParams(r: Record<string, string>): FlowLogParams {
  const fileEnabled = bool(r, "FlowLogsFileEnabled", false);
  const httpEnabled = bool(r, "FlowLogsHTTPEnabled", false);
  const flushInterval = seconds(r, "FlowLogsFlushInterval", 300);
  if (flushInterval <= 0)
    throw new FelixConfigError(
      `invalid value for FlowLogsFlushInterval: '${r.FlowLogsFlushInterval}' must be > 0`,
    );
  return {
    enabled: fileEnabled || httpEnabled,
    fileEnabled,
    fileDirectory: r.FlowLogsFileDirectory ?? "/var/log/calico/flowlogs",
    fileMaxFiles: positiveInt(r, "FlowLogsFileMaxFiles", 5),
    fileMaxFileSizeMB: positiveInt(r, "FlowLogsFileMaxFileSizeMB", 100),
    flushInterval,
    httpEnabled,
    httpHost: r.FlowLogsHTTPHost ?? "localhost",
    httpPort: port(r, "FlowLogsHTTPPort", 9098),
  };
}

function severity(raw: Record<string, string>, name: string, dflt: string): string {
  const v = raw[name] ?? dflt;
  if (!pinoLevel(v))
    throw new FelixConfigError(
      `invalid value for ${name}: '${v}' (expected Debug, Info, Warning, Error, Fatal, Panic or None)`,
    );
  return v;
}

export function parseFelixParams(raw: Readonly<Record<string, string>>): FelixParams {
  const r = raw as Record<string, string>;
  const nftables = (r.NFTablesMode ?? "Enabled").toLowerCase() !== "disabled";
  // The dataplane reads these once in sync; a bad one must stop Felix before it starts.
  for (const name of ["FailsafeInboundHostPorts", "FailsafeOutboundHostPorts"])
    try {
      parseFailsafePorts(name, r[name], []);
    } catch (err) {
      throw new FelixConfigError(`invalid value for ${(err as Error).message}`);
    }
  return {
    healthEnabled: bool(r, "HealthEnabled", false),
    healthHost: r.HealthHost ?? "localhost",
    healthPort: port(r, "HealthPort", 9099),
    prometheusMetricsEnabled: bool(r, "PrometheusMetricsEnabled", false),
    prometheusMetricsHost: r.PrometheusMetricsHost ?? "",
    prometheusMetricsPort: port(r, "PrometheusMetricsPort", 9091),
    logSeverityScreen: severity(r, "LogSeverityScreen", "Info"),
    logSeverityFile: severity(r, "LogSeverityFile", "Info"),
    logSeveritySys: severity(r, "LogSeveritySys", "Info"),
    logFilePath: r.LogFilePath ?? "/var/log/calico/felix.log",
    policyRefreshInterval: nftables
      ? seconds(r, "NftablesRefreshInterval", 180)
      : seconds(r, "IptablesRefreshInterval", 180),
    routeRefreshInterval: seconds(r, "RouteRefreshInterval", 90),
    dataplaneWatchdogTimeout: Math.max(20, seconds(r, "DataplaneWatchdogTimeout", 90)),
    flowLogs: parseFlowLogParams(r),
  };
}
