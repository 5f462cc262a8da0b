/**
 * The flow log file: JSON lines appended to `<FlowLogsFileDirectory>/flows.log`, rotated to
 * `flows.log.1` … `flows.log.<N-1>` when it would pass FlowLogsFileMaxFileSizeMB, keeping
 * FlowLogsFileMaxFiles files in all (as Calico's file reporter does).
 */
import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FlowLog } from "./aggregator.js";

export const FLOW_LOG_FILE = "flows.log";

export interface FlowFileOptions {
  directory: string;
  maxFiles: number;
  maxFileSizeMB: number;
}

export class FlowLogFile {
  readonly path: string;
  #size: number;

  constructor(private readonly opts: FlowFileOptions) {
    mkdirSync(opts.directory, { recursive: true });
    this.path = join(opts.directory, FLOW_LOG_FILE);
    this.#size = existsSync(this.path) ? statSync(this.path).size : 0;
  }

  write(records: readonly FlowLog[]): void {
    if (records.length === 0) return;
    const limit = this.opts.maxFileSizeMB * 1024 * 1024;
    let chunk: string[] = [];
    let chunkBytes = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      appendFileSync(this.path, chunk.join(""));
      this.#size += chunkBytes;
      chunk = [];
      chunkBytes = 0;
    };
    for (const r of records) {
      const line = `${JSON.stringify(r)}\n`;
      const bytes = Buffer.byteLength(line);
      if (this.#size + chunkBytes + bytes > limit && this.#size + chunkBytes > 0) {
        flush();
        this.#rotate();
      }
      chunk.push(line);
      chunkBytes += bytes;
    }
    flush();
  }

  #rotate(): void {
    const keep = Math.max(1, this.opts.maxFiles);
    rmSync(`${this.path}.${keep - 1}`, { force: true });
    for (let i = keep - 2; i >= 1; i--)
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    if (keep > 1) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.#size = 0;
  }
}
