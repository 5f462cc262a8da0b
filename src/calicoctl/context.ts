/** What every command receives: the process boundary, the global flags and a logger. */
import type { CliIO } from "./io.js";
import type { Logger } from "./log.js";

export interface GlobalOptions {
  logLevel?: string;
  allowVersionMismatch?: boolean;
  /** Kubernetes context; accepted for compatibility, calico-ts only speaks to etcd. */
  context?: string;
}

export interface CommandContext {
  io: CliIO;
  globals: GlobalOptions;
  log: Logger;
  sleep(ms: number): Promise<void>;
}
