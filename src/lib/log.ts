/**
 * Logging for the long-running daemons (Felix, calico-node): pino, with Calico's level names.
 * Calico spells levels `Debug`, `Info`, `Warning`, `Error`, `Fatal`, `Panic` (any case) and `None`
 * to switch a destination off; pino's own names differ (`warn`, `silent`), hence the mapping.
 */
import { mkdirSync } from "node:fs";
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
  const lowest = streams.reduce<pino.LevelWithSilent>(
    (min, s) => (RANK[s.level as pino.LevelWithSilent] < RANK[min] ? (s.level as pino.LevelWithSilent) : min),
    "silent",
  );
  return pino({ name: opts.name, level: lowest, base: { pid: process.pid } }, pino.multistream(streams));
}

/** A logger that drops everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
