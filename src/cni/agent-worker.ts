/** The CNI agent thread's entry (see agent-thread.ts): start, report, preload, stop on request. */
import { parentPort, workerData } from "node:worker_threads";
import { type AgentLog, startCniAgent } from "./agent.js";
import type { FromAgentThread } from "./agent-thread.js";

const port = parentPort;
if (!port) throw new Error("agent-worker.ts runs as calico-node's CNI agent thread only");
const tell = (m: FromAgentThread) => port.postMessage(m);
const log: AgentLog = {
  info: (msg) => tell({ log: "info", msg }),
  warn: (msg) => tell({ log: "warn", msg }),
};

try {
  const agent = await startCniAgent({ dir: (workerData as { dir?: string }).dir, log });
  port.on("message", (m) => {
    if (m === "stop") void agent.stop().finally(() => process.exit(0));
  });
  tell({ listening: agent.socketPath });
  // What the first call would otherwise load while a pod waits.
  await Promise.all([
    import("./calico.js"),
    import("./calico-ipam.js"),
    import("../datastore/etcd-http/index.js"),
    import("../datastore/resources/store.js"),
  ]);
} catch (err) {
  tell({ failed: (err as Error).message });
  process.exit(1);
}
