/**
 * One `sh` per plugin run that runs the plugin's commands (ip, nsenter, flock) one after another.
 *
 * Starting a process from Node forks the whole Node process: profiled in the plugin, each spawn
 * took 10–60 ms of the plugin's own CPU (more as the heap grows and the more loaded the host),
 * which was a large part of an ADD or DEL. A shell is forked once, at start-up while the process
 * is small, and forks the tiny `sh` for every later command instead.
 *
 * The shell is only used once main() starts it (the plugins' ADD, DEL and CHECK), or while a run
 * of the CNI agent holds one of its pool's shells (withShell); everywhere else (the Docker driver,
 * tests) runCommand() spawns as before. A shell that dies or times out is not reused: later
 * commands spawn directly.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { type ExecOptions, type ExecResult, run } from "../lib/exec.js";
import { SerialQueue } from "../lib/serial.js";
import {
  commandLine,
  LOCK_FD,
  shellRequest,
  shellSelfRequest,
  takeStderr,
  takeStdout,
} from "./shell-protocol.js";

interface Pending {
  seq: number;
  resolve(r: ExecResult): void;
  stdout?: { output: string; code: number };
  stderr?: string;
}

class CommandShell {
  private readonly child: ChildProcessWithoutNullStreams;
  /** Not secret, only unlikely to turn up in a command's output. */
  private readonly token = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  private seq = 0;
  private out = "";
  private err = "";
  private pending: Pending | undefined;
  /** Requests run strictly one after another, in the order they were asked for. */
  private readonly queue = new SerialQueue();
  dead = false;

  constructor() {
    // Its own process group, so a timeout can kill whatever the shell is running too.
    this.child = spawn("sh", [], { stdio: ["pipe", "pipe", "pipe"], detached: true });
    this.child.stdout.setEncoding("utf8");
    this.child.stderr.setEncoding("utf8");
    this.child.stdout.on("data", (d: string) => {
      this.out += d;
      this.settle();
    });
    this.child.stderr.on("data", (d: string) => {
      this.err += d;
      this.settle();
    });
    this.child.stdin.on("error", () => {});
    this.child.once("error", () => this.fail("shell could not be started"));
    this.child.once("exit", (code, signal) => this.fail(`shell exited (${signal ?? code})`));
    this.hold(false);
  }

  /**
   * An idle shell never keeps the plugin alive (it exits when its stdin closes with the plugin);
   * one running a request does, or Node would exit with the request unanswered.
   */
  private hold(on: boolean): void {
    if (on) this.child.ref();
    else this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) {
      const handle = s as unknown as { ref?: () => void; unref?: () => void };
      if (on) handle.ref?.();
      else handle.unref?.();
    }
  }

  private settle(): void {
    const p = this.pending;
    if (!p) return;
    if (!p.stdout) {
      const got = takeStdout(this.out, this.token, p.seq);
      if (got) {
        p.stdout = { output: got.output, code: got.code };
        this.out = got.rest;
      }
    }
    if (p.stderr === undefined) {
      const got = takeStderr(this.err, this.token, p.seq);
      if (got) {
        p.stderr = got.output;
        this.err = got.rest;
      }
    }
    if (p.stdout && p.stderr !== undefined) {
      this.pending = undefined;
      p.resolve({ code: p.stdout.code, stdout: p.stdout.output, stderr: p.stderr });
    }
  }

  private fail(why: string): void {
    if (this.dead) return;
    this.dead = true;
    const p = this.pending;
    this.pending = undefined;
    p?.resolve({ code: 128, stdout: this.out, stderr: `${this.err}\n${why}` });
  }

  /** Kills the shell and anything it runs (its process group). */
  kill(): void {
    if (this.child.pid !== undefined) {
      try {
        process.kill(-this.child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    this.fail("timed out; killed by SIGKILL");
  }

  /** Ends the shell once its queued requests have run (it exits when its stdin closes). */
  close(): void {
    this.queue.run(async () => this.child.stdin.end()).catch(() => {});
  }

  /** Queues a request; resolves with its result, or undefined if the shell died before it ran. */
  request(text: (token: string, seq: number) => string, timeoutMs?: number): Promise<ExecResult | undefined> {
    return this.queue.run(
      () =>
        new Promise<ExecResult | undefined>((resolve) => {
          if (this.dead) return resolve(undefined);
          const seq = ++this.seq;
          const timer =
            timeoutMs === undefined ? undefined : setTimeout(() => this.kill(), timeoutMs).unref();
          this.hold(true);
          this.pending = {
            seq,
            resolve: (r) => {
              if (timer) clearTimeout(timer);
              this.hold(false);
              resolve(r);
            },
          };
          this.child.stdin.write(text(this.token, seq));
        }),
    );
  }
}

let shell: CommandShell | undefined;
const runShell = new AsyncLocalStorage<CommandShell>();

/** Starts the shared shell now (cheapest early, while the process is small). */
export function startCommandShell(): void {
  if (!shell) shell = new CommandShell();
}

function liveShell(): CommandShell | undefined {
  const s = runShell.getStore() ?? shell;
  return s && !s.dead ? s : undefined;
}

/**
 * Shells for the concurrent runs of a long-lived process (the CNI agent), one to each run while
 * it lasts: a run's commands and its host lock (held on the shell's LOCK_FD) stay its own. Forking
 * the big agent process costs what it costs a plugin, so a spare shell is started after a run
 * takes the last idle one, while no run waits for it.
 */
export class ShellPool {
  readonly #idle: CommandShell[] = [];
  #closed = false;

  constructor(private readonly keep = 2) {}

  /** Runs `fn` with a shell of its own; runCommand and the host lock use it inside. */
  async withShell<T>(fn: () => Promise<T>): Promise<T> {
    const s = this.#idle.pop() ?? new CommandShell();
    if (this.#idle.length === 0) setImmediate(() => this.#spare());
    try {
      return await runShell.run(s, fn);
    } finally {
      await this.#giveBack(s);
    }
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#idle.splice(0)) s.close();
  }

  #spare(): void {
    if (!this.#closed && this.#idle.length === 0) this.#idle.push(new CommandShell());
  }

  async #giveBack(s: CommandShell): Promise<void> {
    // A run that failed between taking and releasing the lock must not pass it on.
    await s.request((token, seq) => shellSelfRequest(token, seq, `exec ${LOCK_FD}>&-`));
    if (!s.dead && !this.#closed && this.#idle.length < this.keep) this.#idle.push(s);
    else s.close();
  }
}

/** Like lib/exec's run(): through the shell when one was started, else a process of its own. */
export async function runCommand(file: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const s = liveShell();
  if (s && opts.env === undefined) {
    const line = commandLine([file, ...args]);
    const r = await s.request((token, seq) => shellRequest(token, seq, line, opts.input), opts.timeoutMs);
    if (r) return r;
  }
  return run(file, args, opts);
}

/**
 * Takes an flock(2) on `path` in the shell (which keeps the file open on LOCK_FD while held).
 * Returns flock's exit status, or undefined when there is no shell to hold it.
 */
export async function shellLock(path: string, timeoutSeconds: number): Promise<number | undefined> {
  const s = liveShell();
  if (!s) return undefined;
  // `command` keeps a failed redirection from ending the shell, as it would for a bare `exec`.
  const line = `command exec ${LOCK_FD}>>${commandLine([path])} && flock --exclusive --wait ${timeoutSeconds} ${LOCK_FD} </dev/null`;
  const r = await s.request((token, seq) => shellSelfRequest(token, seq, line));
  if (!r) return undefined;
  if (r.code !== 0) await shellUnlock();
  return r.code;
}

/** Closes the shell's lock descriptor, which releases the lock. */
export async function shellUnlock(): Promise<void> {
  await liveShell()?.request((token, seq) => shellSelfRequest(token, seq, `exec ${LOCK_FD}>&-`));
}
