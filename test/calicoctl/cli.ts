/**
 * Running the built `bin/calicoctl` as a subprocess against a real etcd, and reading etcd
 * directly to check what a command did (or did not) write.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Etcd3 } from "etcd3";
import { type EtcdServer, startEtcd } from "../support/etcd.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(ROOT, "bin/calicoctl");
const BUILT = join(ROOT, "dist/calicoctl/main.js");
const LOCK = join(tmpdir(), "calico-ts-calicoctl-build.lock");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(BUILT).mtimeMs;
  } catch {
    return 0;
  }
}

/** Rebuilds dist/ when any source is newer than the built entry point; one build at a time. */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (builtAt() >= newestSource(join(ROOT, "src"))) return;
    try {
      mkdirSync(LOCK);
    } catch {
      if (Date.now() > deadline) throw new Error(`${LOCK} held for too long`);
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      // Other components' work in progress may not type-check; tsc emits regardless.
      spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT, stdio: "ignore" });
      if (builtAt() === 0) throw new Error("tsc did not emit dist/calicoctl/main.js");
      return;
    } finally {
      rmdirSync(LOCK);
    }
  }
}

export function runCalicoctl(
  args: string[],
  opts: { endpoint?: string; input?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env };
  if (opts.endpoint) env.ETCD_ENDPOINTS = opts.endpoint;
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

export interface StoredObject {
  kind: string;
  metadata: Record<string, unknown>;
  spec?: Record<string, unknown>;
}

export interface CliEnv {
  etcd: EtcdServer;
  client: Etcd3;
  /** Runs calicoctl against this etcd. */
  run(args: string[], opts?: { input?: string; env?: Record<string, string> }): Promise<CliResult>;
  /** The stored JSON of a v3 resource (`ippools/p1`, `networkpolicies/ns/p`), or undefined. */
  stored(path: string): Promise<StoredObject | undefined>;
  /** Every key under /calico/. */
  keys(): Promise<string[]>;
  /** Removes everything under /calico/. */
  clean(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCliEnv(): Promise<CliEnv> {
  const [etcd] = await Promise.all([startEtcd(), ensureBuilt()]);
  const client = new Etcd3({ hosts: etcd.endpoint });
  return {
    etcd,
    client,
    run: (args, opts = {}) => runCalicoctl(args, { ...opts, endpoint: etcd.endpoint }),
    async stored(path) {
      const value = await client.get(`/calico/resources/v3/projectcalico.org/${path}`).string();
      return value === null ? undefined : (JSON.parse(value) as StoredObject);
    },
    async keys() {
      return (await client.getAll().prefix("/calico/").keys()).sort();
    },
    async clean() {
      await client.delete().prefix("/calico/");
    },
    async stop() {
      client.close();
      await etcd.stop();
    },
  };
}

export const V3 = "apiVersion: projectcalico.org/v3";

/** A YAML document for a resource. */
export function doc(kind: string, meta: string, spec = ""): string {
  return `${V3}\nkind: ${kind}\nmetadata:\n${meta}\n${spec ? `spec:\n${spec}\n` : ""}`;
}

export function pool(name: string, cidr: string, extra = ""): string {
  return doc("IPPool", `  name: ${name}`, `  cidr: ${cidr}${extra ? `\n${extra}` : ""}`);
}
