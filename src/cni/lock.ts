/**
 * The host-wide IPAM lock: an flock(2) on `ipam_lock_file`, the same file and lock type Calico
 * uses, so calico-ts and Calico plugins on one host serialise with each other. Node has no flock
 * binding, so util-linux `flock` takes the lock on a descriptor this process shares with it;
 * flock locks belong to the open file description, so the lock stays held after the helper exits
 * and is released when this process closes the descriptor (or dies).
 * When the plugin's command shell runs (shell.ts), the shell takes the lock instead and holds it
 * on a descriptor of its own, which saves a process start.
 * Best effort, as in Calico: if the lock cannot be taken, the datastore's compare-and-swap still
 * guarantees correctness, so we log and carry on.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { log } from "./log.js";
import { shellLock, shellUnlock } from "./shell.js";

export interface HostLock {
  release(): void;
}

const NOT_HELD: HostLock = { release() {} };

function flockOn(fd: number, timeoutSeconds: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("flock", ["--exclusive", "--wait", String(timeoutSeconds), "3"], {
      stdio: ["ignore", "ignore", "ignore", fd],
    });
    child.once("error", () => resolve(-1));
    child.once("exit", (code) => resolve(code ?? -1));
  });
}

function notTaken(path: string, exitCode: number): HostLock {
  log.warning("could not take the host IPAM lock; continuing without it", { path, exitCode });
  return NOT_HELD;
}

/** Released by the shell's next request, which runs before any command asked for later. */
function shellHeld(): HostLock {
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      shellUnlock().catch(() => {});
    },
  };
}

export async function acquireHostLock(path: string, timeoutSeconds = 90): Promise<HostLock> {
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o777 });
    fd = openSync(path, "a", 0o644);
  } catch (err) {
    log.info("IPAM lock file unavailable; continuing without the host lock", {
      path,
      error: (err as Error).message,
    });
    return NOT_HELD;
  }
  const inShell = await shellLock(path, timeoutSeconds);
  if (inShell !== undefined) {
    closeSync(fd);
    return inShell === 0 ? shellHeld() : notTaken(path, inShell);
  }
  const code = await flockOn(fd, timeoutSeconds);
  if (code !== 0) {
    closeSync(fd);
    return notTaken(path, code);
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}
