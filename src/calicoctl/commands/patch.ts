/** `calicoctl patch KIND NAME -p PATCH`: change part of an existing resource in place. */
import { canonicalize, type Resource } from "../../api/index.js";
import type { CalicoClient } from "../../client/index.js";
import type { CommandContext } from "../context.js";
import { resourcesFromArgs } from "../input/args.js";
import { resourcesFromValue, UnknownFieldError } from "../input/parse.js";
import type { InputResource } from "../input/types.js";
import { CliError } from "../io.js";
import { settleNamespace } from "../namespace.js";
import { applyPatch, isPatchType, type PatchType } from "../patch/apply-patch.js";
import { openCommandSession } from "../session.js";

export interface PatchFlags {
  patch: string;
  type: string;
  config?: string;
  namespace?: string;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Get, patch the stored object, re-read the result as strictly as an input file, update. The
 * update is a compare-and-swap on the version just read, without retries.
 */
async function patchResource(
  client: CalicoClient,
  input: InputResource,
  patchText: string,
  type: PatchType,
): Promise<Resource> {
  const { name = "", namespace } = input.resource.metadata;
  const stored = canonicalize(
    await client.get(
      namespace ? { kind: input.info.kind, name, namespace } : { kind: input.info.kind, name },
    ),
  );
  let patched: unknown;
  try {
    patched = applyPatch(stored, patchText, type);
  } catch (err) {
    throw new Error(`performing ${type} patch: ${message(err)}`);
  }
  let resources: InputResource[];
  try {
    resources = resourcesFromValue(patched);
  } catch (err) {
    if (err instanceof UnknownFieldError) throw err;
    throw new Error(`creating resource from patched data: ${message(err)}`);
  }
  if (resources.length !== 1) throw new Error(`invalid number of patched resources: ${resources.length}`);
  try {
    return await client.update(resources[0]!.resource);
  } catch (err) {
    throw new Error(`updating existing resource: ${message(err)}`);
  }
}

export async function patch(
  ctx: CommandContext,
  kind: string,
  name: string,
  flags: PatchFlags,
): Promise<void> {
  if (!isPatchType(flags.type)) {
    throw new CliError(`unknown patch type '${flags.type}': use strategic, merge or json`);
  }
  const [input] = resourcesFromArgs(
    kind,
    [name],
    flags.namespace !== undefined ? { namespace: flags.namespace } : {},
  );
  const session = await openCommandSession(ctx, flags.config);
  try {
    await patchResource(session.client, settleNamespace(input!, flags), flags.patch, flags.type);
  } catch (err) {
    // calicoctl reports an unknown field on its own, whatever the command.
    throw new CliError(err instanceof UnknownFieldError ? err.message : `hit error: ${message(err)}`);
  } finally {
    await session.close();
  }
  ctx.io.out(`Successfully patched 1 '${input!.info.kind}' resource\n`);
}
