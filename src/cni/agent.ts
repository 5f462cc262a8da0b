/**
 * The CNI agent: calico-node serves the `calico` plugin's ADD, DEL and CHECK from its long-lived
 * process, so a pod's network set-up does not pay for a Node.js start, a module load and a new
 * etcd connection each time. The executable the runtime calls (bin/calico) is a small shell
 * script that hands its environment and stdin to this agent over a unix socket, and runs the
 * plugin as a process of its own when no agent answers. Cilium's CNI plugin hands off to its agent
 * the same way.
 *
 * The socket is named after the network namespace the agent runs in
 * (`/var/run/calico/cni-agent/net-<inode>.sock`): a runtime calls the plugin in the host's
 * namespace, so the script finds the agent of its own host, also when several hosts (the lab's
 * nodes) share one filesystem. The directory and socket are root's alone: the agent sets up
 * interfaces in any namespace it is given, so only root may ask.
 *
 * Wire format, one request per HTTP POST to /v1/calico: the body is the plugin's environment as
 * `env -0` prints it, an empty entry, then the plugin's stdin. The answer's body is the plugin's
 * stdout; the status is 200 for exit status 0 and 500 for a failed run (whose stdout is the CNI
 * error), so `curl --fail-with-body` exits non-zero exactly when the plugin would.
 */
import { chmodSync, mkdirSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import type { ResourceStore } from "../datastore/types.js";
import { readAll } from "../lib/stream.js";
import { withRun } from "./context.js";
import { Logger } from "./log-core.js";
import { runPlugin } from "./main.js";
import { ShellPool } from "./shell.js";

export const AGENT_DIR = "/var/run/calico/cni-agent";

/** The agent socket for a network namespace: this process's, or one named by a file (/var/run/netns/x). */
export function agentSocketPath(netns = "/proc/self/ns/net", dir = AGENT_DIR): string {
  return join(dir, `net-${statSync(netns).ino}.sock`);
}

/** Splits a request body into the environment (`env -0` entries up to an empty one) and stdin. */
export function parseAgentRequest(body: Buffer): { env: NodeJS.ProcessEnv; stdin: string } {
  const env: NodeJS.ProcessEnv = {};
  let at = 0;
  for (;;) {
    const end = body.indexOf(0, at);
    if (end < 0)
      throw new Error("request body has no end-of-environment marker (an empty NUL-terminated entry)");
    if (end === at) break;
    const entry = body.toString("utf8", at, end);
    const eq = entry.indexOf("=");
    if (eq <= 0)
      throw new Error(`request environment entry is not NAME=VALUE: ${JSON.stringify(entry.slice(0, 64))}`);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
    at = end + 1;
  }
  return { env, stdin: body.toString("utf8", at + 1) };
}

export interface AgentLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface CniAgent {
  socketPath: string;
  stop(): Promise<void>;
}

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  stores: Map<string, Promise<ResourceStore>>,
  shells: ShellPool,
  log: AgentLog,
): Promise<void> {
  if (req.method !== "POST" || req.url !== "/v1/calico") {
    answer(
      res,
      404,
      `${JSON.stringify({ code: 4, msg: `no such agent request: ${req.method} ${req.url}` })}\n`,
    );
    return;
  }
  let request: { env: NodeJS.ProcessEnv; stdin: string };
  try {
    request = parseAgentRequest(await readAll(req));
  } catch (err) {
    answer(res, 400, `${JSON.stringify({ code: 4, msg: (err as Error).message })}\n`);
    return;
  }
  const outcome = await withRun({ env: request.env, log: new Logger(), stores }, () =>
    shells.withShell(() => runPlugin("calico", [], async () => request.stdin, false)),
  );
  answer(res, outcome.code === 0 ? 200 : 500, outcome.stdout);
  const { CNI_COMMAND: verb, CNI_CONTAINERID: container } = request.env;
  log.info(`served CNI ${verb} for container ${container}: exit status ${outcome.code}`);
}

/** Listens on this namespace's agent socket, replacing a socket a dead agent left behind. */
export async function startCniAgent(opts: { dir?: string; log: AgentLog }): Promise<CniAgent> {
  const dir = opts.dir ?? AGENT_DIR;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const socketPath = agentSocketPath(undefined, dir);
  rmSync(socketPath, { force: true });
  const stores = new Map<string, Promise<ResourceStore>>();
  const shells = new ShellPool();
  const server: Server = createServer((req, res) => {
    serve(req, res, stores, shells, opts.log).catch((err: Error) => {
      opts.log.warn(`CNI agent request failed: ${err.message}`);
      if (!res.headersSent) answer(res, 500, `${JSON.stringify({ code: 999, msg: err.message })}\n`);
    });
  });
  // Requests wait on the host's IPAM lock for up to 90 s, as a plugin process would.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  opts.log.info(`CNI agent listening on ${socketPath}`);
  return {
    socketPath,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      rmSync(socketPath, { force: true });
      shells.close();
      for (const store of stores.values())
        await (await store.catch(() => undefined))?.close().catch(() => {});
    },
  };
}
