/**
 * calicoctl's diagnostic log on stderr, off unless `-l/--log-level` asks for it (Calico's
 * default level is `panic`, which nothing in calicoctl logs at).
 */

export const LOG_LEVELS = ["panic", "fatal", "error", "warn", "warning", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  info(message: string): void;
  debug(message: string): void;
}

const rank: Record<LogLevel, number> = {
  panic: 0,
  fatal: 1,
  error: 2,
  warn: 3,
  warning: 3,
  info: 4,
  debug: 5,
  trace: 6,
};

export function createLogger(level: LogLevel, write: (text: string) => void): Logger {
  const at = (name: "info" | "debug") => (message: string) => {
    if (rank[level] >= rank[name]) write(`${new Date().toISOString()} [${name.toUpperCase()}] ${message}\n`);
  };
  return { info: at("info"), debug: at("debug") };
}
