/** `calicoctl label KIND NAME key=value [--overwrite]` and `label KIND NAME key --remove`. */
import { ResourceNotFoundError } from "../../datastore/errors.js";
import type { CommandContext } from "../context.js";
import { resourcesFromArgs } from "../input/args.js";
import { CliError } from "../io.js";
import { settleNamespace } from "../namespace.js";
import { openCommandSession } from "../session.js";

export interface LabelFlags {
  overwrite?: boolean;
  remove?: boolean;
  config?: string;
  namespace?: string;
}

type Change = { key: string; value?: string };

function parseChange(label: string, remove: boolean): Change {
  if (remove) return { key: label };
  const parts = label.split("=");
  if (parts.length !== 2) throw new CliError(`invalid label ${label}`);
  return { key: parts[0]!, value: parts[1]! };
}

/** Messages name the kind and name as the user typed them. */
export async function label(
  ctx: CommandContext,
  kind: string,
  name: string,
  labelArg: string,
  flags: LabelFlags,
): Promise<void> {
  if (flags.overwrite && flags.remove) throw new CliError("--overwrite and --remove cannot be used together");
  const change = parseChange(labelArg, flags.remove === true);
  const [input] = resourcesFromArgs(
    kind,
    [name],
    flags.namespace !== undefined ? { namespace: flags.namespace } : {},
  );
  const session = await openCommandSession(ctx, flags.config);
  try {
    const notFound = (err: unknown) => {
      ctx.log.info(`cannot get ${kind} ${name}: ${(err as Error).message}`);
      return new CliError(`${kind} ${name} not found`);
    };
    let resource: ReturnType<typeof settleNamespace>["resource"];
    try {
      resource = settleNamespace(input!, flags).resource;
    } catch (err) {
      throw notFound(err);
    }
    const { namespace } = resource.metadata;
    let current: Awaited<ReturnType<typeof session.client.get>>;
    try {
      current = await session.client.get({ kind: resource.kind, name, ...(namespace ? { namespace } : {}) });
    } catch (err) {
      throw err instanceof ResourceNotFoundError ? notFound(err) : err;
    }
    const labels = { ...current.metadata.labels };
    let verb: "set" | "updated" | "removed" = "set";
    if (change.value === undefined) {
      if (!(change.key in labels)) {
        throw new CliError(`cannot remove label of ${kind} ${name}, key ${change.key} does not exist`);
      }
      delete labels[change.key];
      verb = "removed";
    } else if (change.key in labels) {
      if (!flags.overwrite && labels[change.key] !== change.value) {
        throw new CliError(
          `failed to update label of ${kind} ${name}, key ${change.key} is already present. please use '--overwrite' to set a new value`,
        );
      }
      labels[change.key] = change.value;
      verb = "updated";
    } else {
      labels[change.key] = change.value;
    }
    try {
      await session.client.update({ ...current, metadata: { ...current.metadata, labels } });
    } catch (err) {
      ctx.log.info(`update failed: ${(err as Error).message}`);
      throw new CliError(`failed to update ${kind} ${name}, label not changed`);
    }
    const where = verb === "removed" ? "from" : "on";
    ctx.io.out(`Successfully ${verb} label ${change.key} ${where} ${kind} ${name}\n`);
  } finally {
    await session.close();
  }
}
