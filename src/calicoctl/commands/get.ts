/** `calicoctl get`: fetch or list resources and print them in the chosen format. */
import type { CommandContext } from "../context.js";
import { CliError } from "../io.js";
import { parseOutputFormat, render } from "../output/printer.js";
import type { Session } from "../session.js";
import { InputError, type ResourceFlags, requestFrom, run } from "./run.js";

export interface GetFlags extends ResourceFlags {
  output: string;
  allNamespaces?: boolean;
  export?: boolean;
}

const DEFAULT_AS_NUMBER = "64512";

/** The AS number nodes without their own use: BGPConfiguration `default`, else 64512. */
async function defaultASNumber(session: Session | undefined): Promise<string> {
  if (!session) return DEFAULT_AS_NUMBER;
  const { ResourceNotFoundError } = await import("../../datastore/errors.js");
  try {
    const asNumber = (await session.client.get({ kind: "BGPConfiguration", name: "default" })).spec?.asNumber;
    return asNumber === undefined || asNumber === null ? DEFAULT_AS_NUMBER : String(asNumber);
  } catch (err) {
    return err instanceof ResourceNotFoundError ? DEFAULT_AS_NUMBER : "unknown";
  }
}

export async function get(
  ctx: CommandContext,
  kind: string | undefined,
  names: string[],
  flags: GetFlags,
): Promise<void> {
  const format = parseOutputFormat(flags.output);
  if (flags.filename === undefined && kind === undefined) {
    throw new CliError("a resource type (KIND) or -f/--filename is required");
  }
  let text = "";
  let renderError: unknown;
  let results: Awaited<ReturnType<typeof run>>;
  try {
    results = await run(ctx, {
      ...requestFrom("get", flags),
      ...(flags.filename === undefined ? { kind: kind ?? "", names } : {}),
      allNamespaces: flags.allNamespaces === true,
      export: flags.export === true,
      beforeClose: async (found, session) => {
        try {
          text = await render(found.outputs, {
            format,
            printNamespace: flags.allNamespaces === true || flags.namespace !== undefined,
            defaultASNumber: () => defaultASNumber(session),
          });
        } catch (err) {
          renderError = err;
        }
      },
    });
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new CliError(`failed to get resources: ${(err as Error).message}`);
  }
  if (renderError) throw renderError;
  if (results.numResources === 0) {
    ctx.io.out("No resources specified\n");
    return;
  }
  ctx.io.out(text);
  if (results.errors.length > 0) throw new CliError(results.errors.map((e) => e.message).join("\n"));
}
