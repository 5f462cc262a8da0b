/** Runs bin/calico-libnetwork as a process in a test namespace and talks to its sockets. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { eventually } from "../support/datastore.js";

export const PLUGIN_BIN = join(import.meta.dirname, "../../bin/calico-libnetwork");

export interface PluginProcess {
  child: ChildProcess;
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the plugin in `netnsPath` and waits until both sockets answer. */
export async function startPluginProcess(netnsPath: string, env: NodeJS.ProcessEnv): Promise<PluginProcess> {
  const child = spawn("nsenter", [`--net=${netnsPath}`, process.execPath, PLUGIN_BIN], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const p: PluginProcess = {
    child,
    log: () => out,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
      child.kill(signal);
      return exited;
    },
  };
  const dir = env.CALICO_LIBNETWORK_PLUGIN_DIR as string;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`plugin exited ${child.exitCode}: ${out}`);
      for (const s of ["calico.sock", "calico-ipam.sock"]) {
        if (!existsSync(join(dir, s))) throw new Error(`no ${s} yet`);
        await call(join(dir, s), "Plugin.Activate");
      }
    },
    30_000,
    100,
  );
  return p;
}

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: replies are whatever the plugin sent.
  body: any;
}

/** `POST /<method>` with a JSON body, as Docker sends it (no Content-Type). */
export function call(socket: string, method: string, body?: unknown, httpMethod = "POST"): Promise<Reply> {
  const text = body === undefined ? "" : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        path: `/${method}`,
        method: httpMethod,
        headers: {
          Accept: "application/vnd.docker.plugins.v1.2+json",
          "Content-Length": Buffer.byteLength(text),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const raw = Buffer.concat(chunks).toString();
          let parsed: unknown = raw;
          try {
            parsed = JSON.parse(raw);
          } catch {
            // Keep the raw text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}
