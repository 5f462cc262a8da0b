/**
 * One document of a calicoctl input file → the resources it holds. A document may be a single
 * resource, a sequence of resources, or a `<Kind>List`; Kubernetes NetworkPolicies are
 * converted to the Calico policy kube-controllers would write. Parsing is strict, as
 * calicoctl's is: unknown kinds and unknown fields reject the whole input.
 */
import { parse, type SchemaOptions, type Tags } from "yaml";
import {
  API_VERSION,
  convertKubernetesNetworkPolicy,
  findUnknownFields,
  type KindInfo,
  kindInfo,
  type Resource,
  unknownFieldMessage,
} from "../../api/index.js";
import type { InputResource } from "./types.js";

const K8S_NETWORKING = "networking.k8s.io/v1";

/** The input cannot be used at all; nothing from it is written. */
export class DocumentError extends Error {
  override name = "DocumentError";
}

/**
 * A field the kind does not have. calicoctl reports these on their own, without the
 * "failed to execute command" prefix other input errors get.
 */
export class UnknownFieldError extends DocumentError {
  override name = "UnknownFieldError";
  constructor(path: string) {
    // Go's decoder names only the offending key, not its path.
    super(
      unknownFieldMessage(
        path
          .replace(/\[\d+\]/g, "")
          .split(".")
          .pop() ?? path,
      ),
    );
  }
}

/**
 * YAML 1.1 as Go's yaml.v2 reads it (`yes`/`on` are booleans), except that timestamps and
 * sexagesimal numbers stay strings: Calico's decoder only ever sees them as strings.
 */
const YAML_OPTIONS: SchemaOptions & { version: "1.1" } = {
  version: "1.1",
  customTags: (tags: Tags) =>
    tags.filter((t) => {
      const tag = t as { tag?: string; format?: string };
      return tag.tag !== "tag:yaml.org,2002:timestamp" && tag.format !== "TIME";
    }),
};

type Plain = Record<string, unknown>;

const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

function parseYAML(text: string): unknown {
  try {
    return parse(text, YAML_OPTIONS);
  } catch (err) {
    const message = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
    throw new DocumentError(`yaml: ${message.replace(/:$/, "")}`);
  }
}

function unknownType(kind: string, apiVersion: string): DocumentError {
  return new DocumentError(`unknown resource type (${kind}) and/or version (${apiVersion})`);
}

function strictResource(doc: Plain, info: KindInfo): InputResource {
  if (doc.metadata !== undefined && doc.metadata !== null && !isPlain(doc.metadata)) {
    throw new DocumentError(`metadata of a ${info.kind} must be a mapping`);
  }
  const unknown = findUnknownFields(doc);
  if (unknown.length > 0) throw new UnknownFieldError(unknown[0]!);
  const resource = { ...doc, metadata: isPlain(doc.metadata) ? doc.metadata : {} } as Resource;
  return { resource, info, fromKubernetes: false };
}

function kubernetesPolicy(doc: Plain): InputResource {
  const policy = convertKubernetesNetworkPolicy(doc) as unknown as Resource;
  const meta = isPlain(doc.metadata) ? doc.metadata : {};
  // The converter assumes `default`; leaving it unset lets `-n` apply as it does to any document.
  if (typeof meta.namespace !== "string" || meta.namespace === "") delete policy.metadata.namespace;
  return { resource: policy, info: kindInfo("NetworkPolicy")!, fromKubernetes: true };
}

function listItems(doc: Plain, info: KindInfo): InputResource[] {
  const list = `${info.kind}List`;
  for (const key of Object.keys(doc)) {
    if (!["apiVersion", "kind", "metadata", "items"].includes(key)) throw new UnknownFieldError(key);
  }
  if (doc.items !== undefined && doc.items !== null && !Array.isArray(doc.items)) {
    throw new DocumentError(`items of a ${list} must be a sequence`);
  }
  return ((doc.items as unknown[] | undefined) ?? []).map((item) => {
    if (!isPlain(item)) throw new DocumentError(`items of a ${list} must be ${info.kind} mappings`);
    const kind = item.kind ?? info.kind;
    const apiVersion = item.apiVersion ?? API_VERSION;
    if (kind !== info.kind || apiVersion !== API_VERSION) throw unknownType(String(kind), String(apiVersion));
    return strictResource({ ...item, apiVersion, kind }, info);
  });
}

function fromObject(doc: Plain): InputResource[] {
  const kind = typeof doc.kind === "string" ? doc.kind : "";
  const apiVersion = typeof doc.apiVersion === "string" ? doc.apiVersion : "";
  if (apiVersion === K8S_NETWORKING && kind === "NetworkPolicy") return [kubernetesPolicy(doc)];
  if (apiVersion === API_VERSION) {
    const info = kindInfo(kind);
    if (info) return [strictResource(doc, info)];
    const listOf = kind.endsWith("List") ? kindInfo(kind.slice(0, -"List".length)) : undefined;
    if (listOf) return listItems(doc, listOf);
  }
  throw unknownType(kind, apiVersion);
}

/** Every resource in one document; an empty or comment-only document holds none. */
export function parseDocument(text: string): InputResource[] {
  return resourcesFromValue(parseYAML(text));
}

/** The resources in an already-decoded document, checked as strictly as a file's. */
export function resourcesFromValue(value: unknown): InputResource[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (!isPlain(item)) throw new DocumentError("a sequence document must hold resource mappings");
      return fromObject(item);
    });
  }
  if (!isPlain(value))
    throw new DocumentError("a document must be a resource, a list of resources or a sequence");
  return fromObject(value);
}
