/**
 * The plugins' logger: deliberately small: the plugins run once per pod, so start-up cost matters more than
 * features. Logs go to stderr (stdout carries the CNI result) and, when configured, to a file
 * that is rotated by size.
 */
import { appendFileSync, mkdirSync, renameSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { LogLevel } from "./config.js";

const RANK = { debug: 0, info: 1, warning: 2, error: 3 } as const;
type Level = keyof typeof RANK;

export interface LogFileOptions {
  path: string;
  maxSizeMB: number;
  maxCount: number;
}

export class Logger {
  private threshold: number = RANK.info;
  private file?: LogFileOptions;
  private fields: Record<string, string> = {};

  configure(level: LogLevel, file?: LogFileOptions): void {
    this.threshold = RANK[level];
    this.file = file;
    if (file) {
      try {
        mkdirSync(dirname(file.path), { recursive: true });
        rotateIfLarge(file);
      } catch (err) {
        this.file = undefined;
        this.warning("cannot use log file", { path: file.path, error: (err as Error).message });
      }
    }
  }

  /** Fields added to every later line, e.g. the container ID. */
  with(fields: Record<string, string>): void {
    Object.assign(this.fields, fields);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write("info", msg, fields);
  }
  warning(msg: string, fields?: Record<string, unknown>): void {
    this.write("warning", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.write("error", msg, fields);
  }

  private write(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (RANK[level] < this.threshold) return;
    let line = `${new Date().toISOString()} [${level.toUpperCase()}][${process.pid}] ${msg}`;
    for (const [k, v] of Object.entries({ ...this.fields, ...fields })) {
      line += ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`;
    }
    line += "\n";
    process.stderr.write(line);
    if (this.file) {
      try {
        appendFileSync(this.file.path, line);
      } catch {
        // The file is a convenience; stderr already has the line.
      }
    }
  }
}

function rotateIfLarge(file: LogFileOptions): void {
  let size: number;
  try {
    size = statSync(file.path).size;
  } catch {
    return;
  }
  if (size < file.maxSizeMB * 1024 * 1024) return;
  for (let i = file.maxCount - 1; i >= 1; i--) {
    try {
      renameSync(i === 1 ? file.path : `${file.path}.${i - 1}`, `${file.path}.${i}`);
    } catch {
      // A missing generation is normal while the set fills up.
    }
  }
}
