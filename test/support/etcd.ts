/**
 * Starts a real etcd (Debian's etcd-server) on random loopback ports with a private data
 * directory, for tests and benchmarks. Every caller gets its own server.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface EtcdServer {
  /** Client URL, e.g. `http://127.0.0.1:41234`. */
  endpoint: string;
  dataDir: string;
  /** Stop the server and remove its data. */
  stop(): Promise<void>;
  /** Stop without removing data (for restart tests). */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("no port"));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

async function httpHealthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`);
    return ((await res.json()) as { health?: string }).health === "true";
  } catch {
    return false; // not listening yet
  }
}

async function waitHealthy(
  endpoint: string,
  proc: ChildProcess,
  log: () => string,
  isHealthy: (endpoint: string) => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}:\n${log()}`);
    if (await isHealthy(endpoint)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`etcd at ${endpoint} not healthy after 20 s:\n${log()}`);
}

export interface StartEtcdOptions {
  dataDir?: string;
  host?: string;
  /** Client URL scheme; `https` needs the TLS flags in `extraArgs`. */
  scheme?: "http" | "https";
  extraArgs?: string[];
  /** Also listen on a unix socket `etcd.sock:0` in this directory (`unix://<dir>/etcd.sock:0`). */
  unixSocketIn?: string;
  /** How to tell the server is ready (default: `GET /health` over plain HTTP). */
  isHealthy?: (endpoint: string) => Promise<boolean>;
}

/**
 * Starts etcd on free ports. A port found free can be taken by another process before etcd binds
 * it (tests run in parallel), so a bind failure is retried on fresh ports.
 */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEtcdOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startEtcdOnce(opts: StartEtcdOptions): Promise<EtcdServer> {
  const host = opts.host ?? "127.0.0.1";
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "calico-ts-etcd-")));
  const clientPort = await freePort(host);
  const peerPort = await freePort(host);
  const endpoint = `${opts.scheme ?? "http"}://${host}:${clientPort}`;
  const peer = `http://${host}:${peerPort}`;
  const proc = spawn(
    "etcd",
    [
      "--name",
      "test",
      "--data-dir",
      dataDir,
      "--listen-client-urls",
      // etcd names a unix listener `unix://host:port` and creates that file in its working directory.
      opts.unixSocketIn ? `${endpoint},unix://etcd.sock:0` : endpoint,
      "--advertise-client-urls",
      endpoint,
      "--listen-peer-urls",
      peer,
      "--initial-advertise-peer-urls",
      peer,
      "--initial-cluster",
      `test=${peer}`,
      "--log-level",
      "error",
      ...(opts.extraArgs ?? []),
    ],
    { stdio: ["ignore", "ignore", "pipe"], ...(opts.unixSocketIn ? { cwd: opts.unixSocketIn } : {}) },
  );
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await exited;
  };
  try {
    await waitHealthy(endpoint, proc, () => stderr, opts.isHealthy ?? httpHealthy);
  } catch (err) {
    await kill("SIGKILL");
    if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint,
    dataDir,
    kill,
    async stop() {
      await kill();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
