/**
 * One long-lived `iptables-restore --noflush` (or `ip6tables-restore`) fed a script per change.
 * Forking the Felix process for every restore blocks the event loop for as long as the kernel
 * takes to copy its page tables (tens of ms with a large heap on a busy host), which made the
 * slowest policy changes; the session pays that once. Both the nft and the legacy flavour commit
 * each `*table … COMMIT` block as it is read and keep reading stdin.
 *
 * The restore prints nothing on success, so completion is read from /proc: the script is done
 * when the process has read at least every byte written (`rchar` in /proc/<pid>/io) and is again
 * blocked reading its stdin (/proc/<pid>/syscall). It reads stdin only when it has finished
 * everything before, so both together mean the last COMMIT is in the kernel. A refused script
 * makes the restore exit with its error, and that table's block is not committed: the next script
 * starts a new process.
 */
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import { SerialQueue } from "../../../lib/serial.js";
import type { CommandResult, ProcessStarter } from "../exec.js";

/** Larger scripts (the initial load) go through a forked restore: they are rare, and need not fit a pipe. */
export const RESTORE_SESSION_MAX_SCRIPT = 48 * 1024;

const TIMEOUT_MS = 60_000;

/** `read`'s system call number, as /proc/<pid>/syscall prints it. */
const READ_SYSCALL: Partial<Record<string, string>> = { x64: "0", arm64: "63" };

/** A fresh restore per this many bytes bounds whatever it accumulates (its rule cache). */
const RESTART_AFTER_BYTES = 64 * 1024 * 1024;

/** Whether this machine lets the session tell when a script is done. */
export function restoreSessionSupported(): boolean {
  return READ_SYSCALL[process.arch] !== undefined && readProc(process.pid, "syscall") !== undefined;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined;
  }
}

/** Bytes the process has read so far, or undefined once it is gone. */
function readBytes(pid: number): number | undefined {
  const io = readProc(pid, "io");
  const m = io && /^rchar: (\d+)$/m.exec(io);
  return m ? Number(m[1]) : undefined;
}

/** Whether the process is blocked in `read(0, …)`, i.e. waiting for more of its stdin. */
function waitingForStdin(pid: number): boolean {
  const fields = readProc(pid, "syscall")?.split(" ");
  return fields?.[0] === READ_SYSCALL[process.arch] && fields?.[1] === "0x0";
}

interface Child {
  proc: ChildProcessWithoutNullStreams;
  pid: number;
  stderr: string;
  /** Resolves with the exit code when the process is gone. */
  exited: Promise<number>;
  done: boolean;
}

export class RestoreSession {
  private child: Child | undefined;
  private written = 0;
  private readonly queue = new SerialQueue();

  constructor(
    private readonly start: ProcessStarter,
    private readonly argv: readonly string[],
  ) {}

  /** Runs one restore script; resolves like the forked command's result. */
  run(script: string): Promise<CommandResult> {
    return this.queue.run(() => this.runOne(script));
  }

  /** The restore process while one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    child?.proc.stdin.end();
    child?.proc.kill("SIGTERM");
  }

  private spawn(): Child {
    const proc = this.start([...this.argv]);
    if (proc.pid === undefined) throw new Error(`${this.argv[0]} could not be started`);
    const child: Child = { proc, pid: proc.pid, stderr: "", exited: Promise.resolve(0), done: false };
    proc.stdout.resume();
    proc.stdin.on("error", () => {});
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (chunk: string) => {
      child.stderr += chunk;
    });
    child.exited = new Promise((resolve) => {
      proc.once("error", () => resolve(127));
      proc.once("close", (code) => resolve(code ?? 1));
    });
    void child.exited.then(() => {
      child.done = true;
      if (this.child === child) this.child = undefined;
    });
    this.hold(child, false);
    this.written = 0;
    return child;
  }

  /** An idle session must not keep the Node process alive; a busy one must. */
  private hold(child: Child, busy: boolean): void {
    for (const h of [child.proc, child.proc.stdin, child.proc.stdout, child.proc.stderr] as unknown as {
      ref?(): void;
      unref?(): void;
    }[])
      busy ? h.ref?.() : h.unref?.();
  }

  /**
   * Waits until the process has read `bytes` more than `base` and waits for stdin again ("idle"),
   * or has gone. Polls /proc: immediately at first (most scripts take a few ms), then every ms.
   */
  private settled(child: Child, base: number, bytes: number): Promise<"idle" | "gone" | "timeout"> {
    return new Promise((resolve) => {
      const deadline = Date.now() + TIMEOUT_MS;
      let polls = 0;
      const poll = () => {
        const read = child.done ? undefined : readBytes(child.pid);
        if (read === undefined) return resolve("gone");
        if (read - base >= bytes && waitingForStdin(child.pid)) return resolve("idle");
        if (Date.now() > deadline) return resolve("timeout");
        polls++;
        if (polls < 20) setImmediate(poll);
        else setTimeout(poll, 1);
      };
      poll();
    });
  }

  private async runOne(script: string): Promise<CommandResult> {
    if (this.child && this.written > RESTART_AFTER_BYTES) this.close();
    let child = this.child;
    if (!child) {
      child = this.spawn();
      this.child = child;
      // Start-up reads shared libraries: count from when it first waits for input.
      const ready = await this.settled(child, 0, 0);
      if (ready === "timeout") return this.timedOut(child);
      if (ready === "gone") return this.failed(child, "exited before reading any input");
    }
    const base = readBytes(child.pid);
    if (base === undefined || child.done) return this.failed(child, "exited before reading any input");
    const bytes = Buffer.byteLength(script);
    this.written += bytes;
    this.hold(child, true);
    child.stderr = "";
    child.proc.stdin.write(script);
    const state = await this.settled(child, base, bytes);
    this.hold(child, false);
    if (state === "timeout") return this.timedOut(child);
    if (state === "idle") return { code: 0, stdout: "", stderr: child.stderr };
    // Refused: the restore exits after printing which line failed.
    return this.failed(child, "exited");
  }

  /** The process is gone (or going): its exit status and error, and the next script starts another. */
  private async failed(child: Child, what: string): Promise<CommandResult> {
    if (this.child === child) this.child = undefined;
    const code = await child.exited;
    return { code: code === 0 ? 1 : code, stdout: "", stderr: child.stderr || `${this.argv[0]} ${what}` };
  }

  private timedOut(child: Child): CommandResult {
    if (this.child === child) this.close();
    return { code: 1, stdout: "", stderr: `${this.argv[0]} did not finish within ${TIMEOUT_MS} ms` };
  }
}
