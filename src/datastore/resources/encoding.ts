/**
 * Value encoding of v3 resources: the whole object as compact JSON in Go's field order
 * (kind, apiVersion, metadata, spec, status), without resourceVersion or selfLink, plus the
 * policy-name annotation Calico's etcd backend adds to tiered policy kinds.
 */
import { API_VERSION, type KindInfo } from "../../api/kinds.js";
import { OBJECT_META_FIELDS, type ObjectMeta, type Resource } from "../../api/meta.js";
import type { KeyValue } from "../kv.js";
import { goJSON, sortedMap } from "./go-json.js";

export const POLICY_NAME_ANNOTATION = "projectcalico.org/metadata";

/** Kinds whose stored value carries the policy-name annotation. */
const ANNOTATED_POLICY_KINDS = new Set([
  "NetworkPolicy",
  "GlobalNetworkPolicy",
  "StagedNetworkPolicy",
  "StagedGlobalNetworkPolicy",
]);

const NOT_STORED = new Set(["resourceVersion", "selfLink"]);

/** Go's omitempty: ObjectMeta drops empty strings, nil and empty maps and lists. */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}

function storedMetadata(kind: string, meta: ObjectMeta): ObjectMeta {
  const fields: Record<string, unknown> = { ...meta };
  if (ANNOTATED_POLICY_KINDS.has(kind)) {
    fields.annotations = {
      ...(meta.annotations ?? {}),
      [POLICY_NAME_ANNOTATION]: JSON.stringify({ name: meta.name }),
    };
  }
  const ordered: Record<string, unknown> = {};
  const keys = [...OBJECT_META_FIELDS, ...Object.keys(fields).filter((k) => !OBJECT_META_FIELDS.includes(k))];
  for (const key of keys) {
    const value = fields[key];
    if (NOT_STORED.has(key) || isEmpty(value)) continue;
    ordered[key] =
      key === "labels" || key === "annotations" ? sortedMap(value as Record<string, string>) : value;
  }
  return ordered as ObjectMeta;
}

export function encodeResource(info: KindInfo, resource: Resource): string {
  const stored: Record<string, unknown> = {
    kind: info.kind,
    apiVersion: API_VERSION,
    metadata: storedMetadata(info.kind, resource.metadata),
    // Go always writes spec (a struct, never omitted), so an absent spec is stored as {}.
    spec: resource.spec ?? {},
  };
  if (resource.status !== undefined) stored.status = resource.status;
  return goJSON(stored);
}

export class ValueDecodeError extends Error {
  override name = "ValueDecodeError";
}

/**
 * The policy's user-facing name: the annotation's, else the stored one with a legacy
 * `default.` tier prefix removed (older releases keyed default-tier policies that way).
 */
function restorePolicyName(meta: ObjectMeta, spec: Record<string, unknown> | undefined): void {
  const annotations = meta.annotations;
  const raw = annotations?.[POLICY_NAME_ANNOTATION];
  if (annotations && raw !== undefined) {
    delete annotations[POLICY_NAME_ANNOTATION];
    if (Object.keys(annotations).length === 0) delete meta.annotations;
    try {
      const parsed = JSON.parse(raw) as { name?: unknown };
      if (typeof parsed.name === "string" && parsed.name !== "") meta.name = parsed.name;
    } catch {
      // An unreadable annotation leaves the stored name in place.
    }
    return;
  }
  const tier = spec?.tier;
  if ((tier === undefined || tier === "" || tier === "default") && meta.name?.startsWith("default.")) {
    meta.name = meta.name.slice("default.".length);
  }
}

/** Decodes a stored value; resourceVersion becomes the key's mod revision. */
export function decodeResource(info: KindInfo, kv: KeyValue): Resource {
  let parsed: unknown;
  try {
    parsed = JSON.parse(kv.value);
  } catch (err) {
    throw new ValueDecodeError(`cannot decode ${kv.key}: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ValueDecodeError(`cannot decode ${kv.key}: value is not a JSON object`);
  }
  const obj = parsed as Record<string, unknown>;
  const rawMeta = obj.metadata;
  if (typeof rawMeta !== "object" || rawMeta === null || Array.isArray(rawMeta)) {
    throw new ValueDecodeError(`cannot decode ${kv.key}: metadata is missing`);
  }
  if (obj.kind !== undefined && obj.kind !== info.kind) {
    throw new ValueDecodeError(
      `cannot decode ${kv.key}: kind ${String(obj.kind)} stored under ${info.plural}`,
    );
  }
  const metadata = rawMeta as ObjectMeta;
  const spec = obj.spec as Record<string, unknown> | undefined;
  delete metadata.selfLink;
  if (ANNOTATED_POLICY_KINDS.has(info.kind)) restorePolicyName(metadata, spec);
  metadata.resourceVersion = kv.modRevision;
  const resource: Resource = {
    ...obj,
    kind: info.kind,
    apiVersion: typeof obj.apiVersion === "string" ? obj.apiVersion : API_VERSION,
    metadata,
  };
  return resource;
}
