/**
 * Calico's etcd key layout for v3 resources:
 * `/calico/resources/v3/projectcalico.org/<plural>/[<namespace>/]<name>`.
 */
import type { KindInfo } from "../../api/kinds.js";
import type { ResourceKey } from "../../api/meta.js";

export const RESOURCE_ROOT = "/calico/resources/v3/projectcalico.org/";

export function resourcePath(info: KindInfo, key: ResourceKey): string {
  return info.namespaced
    ? `${RESOURCE_ROOT}${info.plural}/${key.namespace}/${key.name}`
    : `${RESOURCE_ROOT}${info.plural}/${key.name}`;
}

/**
 * The list prefix for a kind, optionally one namespace. It always ends in `/` so that namespace
 * `ns1` never matches keys of `ns10`.
 */
export function listPrefix(info: KindInfo, namespace?: string): string {
  return info.namespaced && namespace
    ? `${RESOURCE_ROOT}${info.plural}/${namespace}/`
    : `${RESOURCE_ROOT}${info.plural}/`;
}

function unescapeSegment(segment: string): string {
  return segment.replace(/%2f/gi, "/").replace(/%25/g, "%");
}

/**
 * Parses a key back into kind/namespace/name; undefined when the path is not a resource key
 * of `info`'s plural or has the wrong number of segments for the kind's scope.
 */
export function parseResourcePath(info: KindInfo, path: string): ResourceKey | undefined {
  const base = `${RESOURCE_ROOT}${info.plural}/`;
  if (!path.startsWith(base)) return undefined;
  const rest = path.slice(base.length).split("/");
  if (rest.some((s) => s === "")) return undefined;
  if (info.namespaced) {
    if (rest.length !== 2) return undefined;
    return { kind: info.kind, namespace: unescapeSegment(rest[0]!), name: unescapeSegment(rest[1]!) };
  }
  if (rest.length !== 1) return undefined;
  return { kind: info.kind, name: unescapeSegment(rest[0]!) };
}
