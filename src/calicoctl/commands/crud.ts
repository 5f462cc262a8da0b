/** `create`, `apply`, `replace`, `delete` and `validate`. */
import type { CommandContext } from "../context.js";
import { reportCreateLike, reportDelete, reportReplace } from "../report.js";
import { type ResourceFlags, requestFrom, run } from "./run.js";

export interface WriteFlags extends ResourceFlags {
  skipExists?: boolean;
}

export async function createLike(
  ctx: CommandContext,
  verb: "create" | "apply" | "validate",
  flags: WriteFlags,
): Promise<void> {
  const results = await run(ctx, { ...requestFrom(verb, flags), skipExists: flags.skipExists === true });
  reportCreateLike(verb, results, ctx.io.out);
}

export async function replace(ctx: CommandContext, flags: ResourceFlags): Promise<void> {
  reportReplace(await run(ctx, requestFrom("replace", flags)), ctx.io.out);
}

export interface DeleteFlags extends ResourceFlags {
  skipNotExists?: boolean;
}

export async function remove(
  ctx: CommandContext,
  kind: string | undefined,
  names: string[],
  flags: DeleteFlags,
): Promise<void> {
  const results = await run(ctx, {
    ...requestFrom("delete", flags),
    ...(flags.filename === undefined ? { kind: kind ?? "", names } : {}),
    skipNotExists: flags.skipNotExists === true,
  });
  reportDelete(results, ctx.io.out);
}
