/**
 * Network namespaces for tests. Every namespace gets a distinctive random name so parallel test
 * files never collide, starts with `lo` up, and is removed by `remove()` (or `removeAll()`),
 * taking its veths with it.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentSocketPath } from "../../src/cni/agent.js";
import { type ExecResult, run } from "../../src/lib/exec.js";

export type ExecOutput = ExecResult;

export function exec(
  file: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecOutput> {
  return run(file, args, opts);
}

export async function execOk(
  file: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
) {
  const out = await exec(file, args, opts);
  if (out.code !== 0)
    throw new Error(`${file} ${args.join(" ")} failed (${out.code}): ${out.stderr}${out.stdout}`);
  return out;
}

export class Netns {
  constructor(readonly name: string) {}

  get path(): string {
    return `/var/run/netns/${this.name}`;
  }

  /** Runs argv inside this namespace (nsenter keeps /sys and cgroups, unlike `ip netns exec`). */
  exec(argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecOutput> {
    return exec("nsenter", [`--net=${this.path}`, ...argv], opts);
  }

  async execOk(argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecOutput> {
    const out = await this.exec(argv, opts);
    if (out.code !== 0)
      throw new Error(`in ${this.name}: ${argv.join(" ")} failed (${out.code}): ${out.stderr}`);
    return out;
  }

  /** `ip -j ...` parsed. */
  async ipJson<T = unknown>(args: string[]): Promise<T> {
    const out = await this.execOk(["ip", "-j", ...args]);
    return JSON.parse(out.stdout || "[]") as T;
  }

  async sysctl(path: string): Promise<string> {
    return (await this.execOk(["cat", `/proc/sys/${path}`])).stdout.trim();
  }

  async linkNames(): Promise<string[]> {
    return (await this.ipJson<{ ifname: string }[]>(["link", "show"])).map((l) => l.ifname);
  }

  /** Deletes the namespace, and the CNI agent socket a killed calico-node in it left behind. */
  async remove(): Promise<void> {
    try {
      await rm(agentSocketPath(this.path), { force: true });
    } catch {
      // The namespace is already gone: its socket's name cannot be known any more.
    }
    await exec("ip", ["netns", "del", this.name]);
  }
}

const created = new Set<Netns>();

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export async function createNetns(prefix: string): Promise<Netns> {
  const ns = new Netns(uniqueName(prefix));
  await execOk("ip", ["netns", "add", ns.name]);
  created.add(ns);
  await ns.execOk(["ip", "link", "set", "lo", "up"]);
  return ns;
}

/** Removes every namespace created through this module that is still present. */
export async function removeAll(): Promise<void> {
  for (const ns of created) await ns.remove();
  created.clear();
}

function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on("error", () => b.destroy());
  b.on("error", () => a.destroy());
  a.on("close", () => b.destroy());
  b.on("close", () => a.destroy());
}

/** Runs inside the namespace: accepts TCP on its loopback and relays to a unix socket. */
const RELAY = `
const net = require("node:net");
const [sock, port] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u); u.pipe(c);
  c.on("error", () => u.destroy()); u.on("error", () => c.destroy());
  c.on("close", () => u.destroy()); u.on("close", () => c.destroy());
}).listen(Number(port), "127.0.0.1", () => console.log("ready"));
`;

export interface Forward {
  /** `http://127.0.0.1:<port>` as seen from inside the namespace. */
  url: string;
  close(): Promise<void>;
}

/**
 * Makes a TCP service on this process's loopback (e.g. a test etcd) reachable at
 * 127.0.0.1:`port` inside `ns`, whose loopback is a different one. Unix sockets are not
 * per-namespace, so the two loopbacks are joined through one, without touching any interface.
 */
export async function forwardIntoNetns(
  ns: Netns,
  target: { host: string; port: number },
  port = 2379,
): Promise<Forward> {
  const sock = join(tmpdir(), `cts-fwd-${randomBytes(4).toString("hex")}.sock`);
  const server = createServer((c) => splice(c, connect(target.port, target.host)));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(sock, resolve);
  });
  const relay = spawn("nsenter", [`--net=${ns.path}`, process.execPath, "-e", RELAY, sock, String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const close = async () => {
    if (relay.exitCode === null && relay.signalCode === null) {
      const exited = new Promise((r) => relay.once("exit", r));
      relay.kill("SIGKILL");
      await exited;
    }
    await new Promise<void>((r) => server.close(() => r()));
    await rm(sock, { force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let err = "";
      relay.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      relay.stdout.on("data", (d: Buffer) => {
        if (d.toString().includes("ready")) resolve();
      });
      relay.once("exit", (code) => reject(new Error(`relay into ${ns.name} exited (${code}): ${err}`)));
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, close };
}
