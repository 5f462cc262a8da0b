/**
 * What every part of the lab shares: where the built binaries are, running commands inside a
 * namespace, and starting and stopping the detached processes the lab leaves running.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ExecResult, run } from "../lib/exec.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = (name: string) => join(ROOT, "bin", name);
export const DIST = (file: string) => join(ROOT, "dist", "lab", file);

export class LabError extends Error {}

export type Progress = (msg: string) => void;

export const nsPath = (ns: string) => `/run/netns/${ns}`;
export const inNs = (ns: string, argv: string[], input?: string): Promise<ExecResult> =>
  run("nsenter", [`--net=${nsPath(ns)}`, ...argv], input === undefined ? {} : { input });

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function detached(argv: string[], env: NodeJS.ProcessEnv, logFile: string, cwd?: string): number {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, "a");
  const [file, ...args] = argv;
  const child = spawn(file as string, args, {
    env,
    detached: true,
    stdio: ["ignore", fd, fd],
    ...(cwd ? { cwd } : {}),
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new LabError(`could not start ${argv.join(" ")}`);
  return child.pid;
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function killAndWait(pid: number | undefined, ms = 5_000): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid as number, "SIGTERM");
  const end = Date.now() + ms;
  while (alive(pid) && Date.now() < end) await sleep(50);
  if (alive(pid)) process.kill(pid as number, "SIGKILL");
}

/**
 * A process started by `detached` and everything it started, killed at once: the lab's picture
 * of `kill -9` on a container. Other processes in the same network namespace (a runtime's CNI
 * call, a probe) are not the container's and live on.
 */
export function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** Every process in a namespace, killed at once, as a crash would. */
export async function killNamespace(netns: string): Promise<void> {
  const pids = (await run("ip", ["netns", "pids", netns])).stdout.split("\n").filter((p) => p.trim());
  for (const p of pids) {
    try {
      process.kill(Number(p), "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

export function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}
