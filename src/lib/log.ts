/**
 * Logging for the long-running daemons (Felix, calico-node, Typha): pino, with Calico's level
 * names. Calico spells levels `Debug`, `Info`, `Warning`, `Error`, `Fatal`, `Panic` (any case) and
 * `None` to switch a destination off; pino's own names differ (`warn`, `silent`), hence the
 * mapping. Destinations: stderr, a file, and the local syslog socket, each with its threshold.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import pino, { type Logger } from "pino";

export type { Logger } from "pino";

const LEVELS: Readonly<Record<string, pino.LevelWithSilent>> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warning: "warn",
  warn: "warn",
  error: "error",
  fatal: "fatal",
  panic: "fatal",
  none: "silent",
};

/** Calico's severity name as pino's level, or undefined when the name is not a severity. */
export function pinoLevel(severity: string): pino.LevelWithSilent | undefined {
  return LEVELS[severity.trim().toLowerCase()];
}

export interface LoggerOptions {
  /** Component name recorded on every line (`felix`, `calico-node`, `confd`). */
  name: string;
  /** Severity for stderr, Calico spelling. */
  screen: string;
  /** Severity for the file, Calico spelling; `None` or no path means no file. */
  file?: string;
  filePath?: string;
  /** Severity for syslog (LogSeveritySys), Calico spelling; `None` or no value means no syslog. */
  sys?: string;
  /** The local syslog socket (default `/dev/log`). */
  syslogSocket?: string;
}

export class LogConfigError extends Error {}

function levelOf(param: string, value: string): pino.LevelWithSilent {
  const level = pinoLevel(value);
  if (!level)
    throw new LogConfigError(
      `invalid value for ${param}: '${value}' (expected Debug, Info, Warning, Error, Fatal, Panic or None)`,
    );
  return level;
}

const RANK: Readonly<Record<pino.LevelWithSilent, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/** A logger writing to stderr and optionally a file, each with its own threshold. */
export function createLogger(opts: LoggerOptions): Logger {
  const screen = levelOf("LogSeverityScreen", opts.screen);
  const streams: pino.StreamEntry[] = [];
  if (screen !== "silent") streams.push({ level: screen, stream: pino.destination({ fd: 2, sync: true }) });
  const fileLevel = opts.file === undefined ? "silent" : levelOf("LogSeverityFile", opts.file);
  const path = opts.filePath?.trim();
  if (fileLevel !== "silent" && path && path.toLowerCase() !== "none") {
    mkdirSync(dirname(path), { recursive: true });
    streams.push({ level: fileLevel, stream: pino.destination({ dest: path, mkdir: true, sync: false }) });
  }
  const sysLevel = opts.sys === undefined ? "silent" : levelOf("LogSeveritySys", opts.sys);
  if (sysLevel !== "silent") {
    const sys = syslogStream(opts.syslogSocket ?? "/dev/log", opts.name);
    if (sys) streams.push({ level: sysLevel, stream: sys });
  }
  const lowest = streams.reduce<pino.LevelWithSilent>(
    (min, s) => (RANK[s.level as pino.LevelWithSilent] < RANK[min] ? (s.level as pino.LevelWithSilent) : min),
    "silent",
  );
  return pino({ name: opts.name, level: lowest, base: { pid: process.pid } }, pino.multistream(streams));
}

/** syslog severities (RFC 5424) by pino level number. */
const SYSLOG_SEVERITY: Readonly<Record<number, number>> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };
const SYSLOG_NAME: Readonly<Record<number, string>> = {
  10: "DEBUG",
  20: "DEBUG",
  30: "INFO",
  40: "WARNING",
  50: "ERROR",
  60: "FATAL",
};
/** Facility `user`. */
const FACILITY = 1;

/** One syslog line from one of pino's JSON lines: `<PRI>LEVEL message {fields}`. */
export function syslogLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return `<${FACILITY * 8 + 6}>${json.replace(/\n/g, " ")}`;
  }
  const { level, msg, time: _t, pid: _p, hostname: _h, name: _n, ...fields } = rec;
  const n = typeof level === "number" ? level : 30;
  const extra = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
  const text = `${SYSLOG_NAME[n] ?? "INFO"} ${String(msg ?? "")}${extra}`.replace(/\n/g, " ");
  return `<${FACILITY * 8 + (SYSLOG_SEVERITY[n] ?? 6)}>${text}`;
}

/**
 * A stream to the local syslog socket. Node has no unix datagram sockets, so util-linux's
 * `logger` carries the lines: it reads them on stdin and sends each as one syslog message with
 * the priority from its `<PRI>` prefix. No socket (a container without syslog) means no syslog,
 * as in Calico.
 */
function syslogStream(socket: string, tag: string): { write(line: string): void } | undefined {
  if (!existsSync(socket)) return undefined;
  const child = spawn(
    "logger",
    ["--socket", socket, "--prio-prefix", "--tag", tag, `--id=${process.pid}`, "--socket-errors=off"],
    { stdio: ["pipe", "ignore", "ignore"] },
  );
  child.on("error", () => undefined);
  child.stdin.on("error", () => undefined);
  // The helper must not keep a daemon (or a test) alive by itself.
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return {
    write(line: string) {
      if (child.exitCode === null && child.stdin.writable) child.stdin.write(`${syslogLine(line)}\n`);
    },
  };
}

/** A logger that drops everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
