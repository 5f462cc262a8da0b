/**
 * What one plugin run sees as "its process": the environment, the logger and the datastore
 * handles. A plugin process has exactly one run, and uses the process's own. The node agent
 * (agent.ts) serves many runs concurrently in one long-lived process, so it gives each run its own
 * context through AsyncLocalStorage, and keeps datastore clients open between runs.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { ResourceStore } from "../datastore/types.js";
import { Logger } from "./log-core.js";

export interface RunContext {
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Datastore handles kept open across runs, by their settings; absent in a plugin process. */
  stores?: Map<string, Promise<ResourceStore>>;
}

const storage = new AsyncLocalStorage<RunContext>();
const processContext: RunContext = { env: process.env, log: new Logger() };

export function currentRun(): RunContext {
  return storage.getStore() ?? processContext;
}

/** The environment of the current run: CNI_*, datastore and plugin settings. */
export function runEnv(): NodeJS.ProcessEnv {
  return currentRun().env;
}

export function withRun<T>(ctx: RunContext, fn: () => Promise<T>): Promise<T> {
  return storage.run(ctx, fn);
}
