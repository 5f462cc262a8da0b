/** Felix's calculation graph: datastore updates in, ordered dataplane messages out. */
export { CalcGraph, type CalcGraphOptions, type CalcGraphStats, type SyncStatus } from "./calc-graph.js";
export { configFromEnvironment, configFromFile } from "./config/sources.js";
export type { LocalConfig } from "./config-batcher.js";
export * from "./messages.js";
export type { CalcUpdate } from "./model/update-processor.js";
