/** `KIND NAME...` on the command line → the resources they name. */
import { API_VERSION, resolveKindName } from "../../api/index.js";
import { CliError } from "../io.js";
import type { InputResource } from "./types.js";

/**
 * One resource per name, carrying only name and (for namespaced kinds) the `-n` namespace.
 * With `listWhenUnnamed`, no names means the whole kind: one resource with an empty name.
 * Throws for an unknown kind or an empty name.
 */
export function resourcesFromArgs(
  kind: string,
  names: readonly string[],
  opts: { namespace?: string; listWhenUnnamed?: boolean } = {},
): InputResource[] {
  const info = resolveKindName(kind);
  if (!info) throw new CliError(`resource type '${kind}' is not supported`);
  if (names.some((n) => n === "")) throw new CliError("resource name may not be empty");
  const namespace = opts.namespace;
  return (names.length === 0 && opts.listWhenUnnamed ? [""] : names).map((name) => ({
    resource: {
      apiVersion: API_VERSION,
      kind: info.kind,
      metadata: info.namespaced && namespace ? { name, namespace } : { name },
    },
    info,
    fromKubernetes: false,
  }));
}
