/**
 * The CNI agent on a thread of its own, as calico-node runs it. calico-node's main thread also
 * runs Felix, whose calculation and kernel updates hold its event loop for long stretches (seconds
 * while a new node first programs its dataplane on a busy host): on the same thread, a pod's ADD
 * would wait for them. The thread has its own event loop and loads the plugin code up front, so
 * the first pod on a node does not wait for that either.
 */
import { Worker } from "node:worker_threads";
import type { AgentLog, CniAgent } from "./agent.js";

/** What the thread (agent-worker.ts) tells calico-node's main thread. */
export type FromAgentThread =
  | { log: "info" | "warn"; msg: string }
  | { listening: string }
  | { failed: string };

export interface CniAgentThread extends CniAgent {
  /** Settles with the thread's exit code when it ends, on stop() or on its own. */
  exited: Promise<number>;
}

/** Starts the agent thread and resolves once it listens; its log lines come back through `log`. */
export function startCniAgentThread(opts: { dir?: string; log: AgentLog }): Promise<CniAgentThread> {
  const worker = new Worker(new URL("./agent-worker.js", import.meta.url), { workerData: { dir: opts.dir } });
  const exited = new Promise<number>((done) => worker.once("exit", done));
  return new Promise((resolve, reject) => {
    worker.on("message", (m: FromAgentThread) => {
      if ("log" in m) opts.log[m.log](m.msg);
      else if ("failed" in m) reject(new Error(`CNI agent did not start: ${m.failed}`));
      else
        resolve({
          socketPath: m.listening,
          exited,
          stop: async () => {
            worker.postMessage("stop");
            await exited;
          },
        });
    });
    worker.once("error", (err) => reject(err));
    void exited.then((code) => reject(new Error(`CNI agent thread exited (${code}) before listening`)));
  });
}
