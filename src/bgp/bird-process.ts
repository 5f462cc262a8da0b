/**
 * Runs BIRD 2 in the foreground with its own config and control socket (in whatever network
 * namespace the caller runs in), so several nodes' BIRDs can run on one host.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { BirdClient } from "./birdc.js";

export interface BirdProcessOptions {
  configFile: string;
  socketPath: string;
  /** Argv prefix, e.g. `["nsenter", "--net=/run/netns/node1"]`. */
  argvPrefix?: string[];
  /** `-R`: graceful-restart recovery, holding routes left by a previous instance (`persist`). */
  recovery?: boolean;
  readyTimeoutMs?: number;
}

export interface BirdProcess {
  pid: number;
  client: BirdClient;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export async function startBird(opts: BirdProcessOptions): Promise<BirdProcess> {
  const args = ["bird", "-f", ...(opts.recovery ? ["-R"] : []), "-c", opts.configFile, "-s", opts.socketPath];
  const [file, ...rest] = [...(opts.argvPrefix ?? []), ...args];
  const child: ChildProcess = spawn(file as string, rest, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const client = new BirdClient(opts.socketPath);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 5_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bird exited (${child.exitCode}): ${stderr.trim()}`);
    try {
      await client.command("show status");
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`bird did not open ${opts.socketPath}: ${(err as Error).message} ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    pid: child.pid ?? -1,
    client,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
