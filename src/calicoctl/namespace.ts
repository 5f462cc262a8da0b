/**
 * calicoctl's namespace rules, applied to each resource before its action: `-n` fills a missing
 * namespace, nothing given means `default`, `-A` means every namespace, and cluster-scoped kinds
 * take no namespace at all.
 */
import type { InputResource } from "./input/types.js";

export interface NamespaceFlags {
  namespace?: string;
  allNamespaces?: boolean;
}

/** The input with its namespace settled; throws (a per-resource error) when the flags conflict. */
export function settleNamespace(input: InputResource, flags: NamespaceFlags): InputResource {
  const cli = flags.namespace ?? "";
  const all = flags.allNamespaces === true;
  const own = input.resource.metadata.namespace ?? "";
  const kind = input.info.kind;
  if (!input.info.namespaced) {
    if (own !== "") {
      throw new Error(
        `namespace should not be specified for a non-namespaced resource. ${kind} is not a namespaced resource`,
      );
    }
    if (all || cli !== "") throw new Error(`${kind} is not namespaced`);
    return input;
  }
  if (all && cli !== "")
    throw new Error("cannot use both --namespace and --all-namespaces flags at the same time");
  let namespace = own;
  if (all) namespace = "";
  else if (own === "") namespace = cli || "default";
  else if (cli !== "" && own !== cli) {
    throw new Error(`resource namespace does not match client namespace. ${own} != ${cli}`);
  }
  if (namespace === own) return input;
  const { namespace: _, ...rest } = input.resource.metadata;
  const metadata = namespace === "" ? rest : { ...rest, namespace };
  return { ...input, resource: { ...input.resource, metadata } };
}
