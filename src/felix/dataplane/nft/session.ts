/**
 * One long-lived `nft -i` process fed a transaction per line. Spawning `nft` per change costs a
 * fork of the whole Node process (which blocks the event loop) plus nft's start-up; the session
 * pays that once. Commands joined with `;` on one line are one netlink batch, so each transaction
 * stays atomic. nft prints nothing for a successful command, so after every transaction the
 * session sends a marker line that is a syntax error: nft answers it (on stderr, in order) with
 * an error that quotes the marker, and everything before that belongs to the transaction.
 */
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { SerialQueue } from "../../../lib/serial.js";
import type { CommandResult, ProcessStarter } from "../exec.js";

/** Transactions larger than this go through `nft -f` (the initial load): one long line is no gain. */
export const SESSION_MAX_SCRIPT = 256 * 1024;

/** nft -i keeps a history of every line; a fresh process now and then bounds its memory. */
const RESTART_AFTER_BYTES = 32 * 1024 * 1024;

const TIMEOUT_MS = 60_000;

interface Pending {
  marker: string;
  resolve: (r: CommandResult) => void;
}

export class NftSession {
  private child: ChildProcessWithoutNullStreams | undefined;
  private pending: Pending | undefined;
  private buffer = "";
  /** The line after a marker is nft's caret line pointing at it: dropped. */
  private skipCaret = false;
  private lines: string[] = [];
  private written = 0;
  private seq = 0;
  private readonly nonce = randomBytes(4).toString("hex");
  private readonly queue = new SerialQueue();

  constructor(private readonly start: ProcessStarter) {}

  /** Runs one `nft -f` style script as one transaction; resolves like a command's result. */
  run(script: string): Promise<CommandResult> {
    return this.queue.run(() => this.runOne(script));
  }

  /** The `nft -i` process while one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    child?.stdin.end();
    child?.kill("SIGTERM");
  }

  private spawn(): ChildProcessWithoutNullStreams {
    const child = this.start(["nft", "-i"]);
    child.stdout.resume();
    child.stdin.on("error", () => {});
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => this.onStderr(chunk));
    const gone = () => {
      if (this.child === child) this.child = undefined;
      this.finish({ code: 1, stdout: "", stderr: `${this.lines.join("\n")}\nnft -i exited` });
    };
    child.once("exit", gone);
    child.once("error", gone);
    this.hold(child, false);
    this.buffer = "";
    this.skipCaret = false;
    this.written = 0;
    return child;
  }

  /**
   * An idle session must not keep the Node process alive; one with a transaction in flight must,
   * or a caller awaiting only that transaction would see the process exit under it.
   */
  private hold(child: ChildProcessWithoutNullStreams, busy: boolean): void {
    for (const h of [child, child.stdin, child.stdout, child.stderr] as unknown as {
      ref?(): void;
      unref?(): void;
    }[])
      busy ? h.ref?.() : h.unref?.();
  }

  private onStderr(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf("\n");
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      nl = this.buffer.indexOf("\n");
      if (this.skipCaret) {
        this.skipCaret = false;
        continue;
      }
      if (this.pending && line === this.pending.marker) {
        // The line before the marker is nft's "Error: syntax error…" about the marker itself.
        this.lines.pop();
        const stderr = this.lines.join("\n");
        this.skipCaret = true;
        this.finish({ code: /^Error:/m.test(stderr) ? 1 : 0, stdout: "", stderr });
        continue;
      }
      this.lines.push(line);
    }
  }

  private finish(result: CommandResult): void {
    const p = this.pending;
    this.pending = undefined;
    this.lines = [];
    p?.resolve(result);
  }

  private runOne(script: string): Promise<CommandResult> {
    if (this.child && this.written > RESTART_AFTER_BYTES) this.close();
    this.child ??= this.spawn();
    const child = this.child;
    const marker = `calico-ts-sync-${this.nonce}-${++this.seq}`;
    const line = script
      .split("\n")
      .filter((l) => l.trim() !== "")
      .join("; ");
    this.written += line.length;
    return new Promise<CommandResult>((resolve) => {
      const timer = setTimeout(() => {
        // A session that stops answering is replaced; the caller falls back to `nft -f`.
        if (this.child === child) this.close();
        this.finish({ code: 1, stdout: "", stderr: `nft -i did not answer within ${TIMEOUT_MS} ms` });
      }, TIMEOUT_MS);
      timer.unref();
      this.hold(child, true);
      this.pending = {
        marker,
        resolve: (r) => {
          clearTimeout(timer);
          this.hold(child, false);
          resolve(r);
        },
      };
      child.stdin.write(`${line}\n${marker}\n`);
    });
  }
}
