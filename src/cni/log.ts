/** The logger of the current plugin run (see context.ts), under the one name every module uses. */
import type { LogLevel } from "./config.js";
import { currentRun } from "./context.js";
import type { LogFileOptions } from "./log-core.js";

type Fields = Record<string, unknown>;

export const log = {
  configure: (level: LogLevel, file?: LogFileOptions) => currentRun().log.configure(level, file),
  with: (fields: Record<string, string>) => currentRun().log.with(fields),
  debug: (msg: string, fields?: Fields) => currentRun().log.debug(msg, fields),
  info: (msg: string, fields?: Fields) => currentRun().log.info(msg, fields),
  warning: (msg: string, fields?: Fields) => currentRun().log.warning(msg, fields),
  error: (msg: string, fields?: Fields) => currentRun().log.error(msg, fields),
};
