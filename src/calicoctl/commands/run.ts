/** Shared plumbing of the resource commands: running the engine with calicoctl's input errors. */
import type { CommandContext } from "../context.js";
import { type CommandResults, type ExecuteRequest, execute } from "../execute.js";
import { DocumentError, UnknownFieldError } from "../input/parse.js";
import { CliError } from "../io.js";

/** The input itself is unusable (unreadable, malformed, unknown kind or field). */
export class InputError extends CliError {
  override name = "InputError";
}

/** Flags every resource command shares. */
export interface ResourceFlags {
  filename?: string;
  recursive?: boolean;
  skipEmpty?: boolean;
  config?: string;
  namespace?: string;
}

export function requestFrom(verb: ExecuteRequest["verb"], flags: ResourceFlags): ExecuteRequest {
  return {
    verb,
    ...(flags.filename !== undefined ? { filename: flags.filename } : {}),
    recursive: flags.recursive === true,
    skipEmpty: flags.skipEmpty === true,
    ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
    ...(flags.config !== undefined ? { configPath: flags.config } : {}),
  };
}

/**
 * Runs the engine; an unusable input aborts with `failed to execute command: <err>`, except
 * unknown fields, which calicoctl reports on their own.
 */
export async function run(ctx: CommandContext, req: ExecuteRequest): Promise<CommandResults> {
  try {
    return await execute(ctx, req);
  } catch (err) {
    if (err instanceof UnknownFieldError) throw new InputError(err.message);
    if (err instanceof DocumentError) throw new InputError(`failed to execute command: ${err.message}`);
    throw err;
  }
}
