/**
 * Strict decoding: calicoctl refuses documents carrying fields its types do not have, rather
 * than silently dropping them as the plain decoder would.
 */
import { isPlainObject, kindOf } from "./plain.js";
import { resourceSchema, type TypeSpec } from "./schema/index.js";

/** calicoctl's wording for a field the schema does not know. */
export function unknownFieldMessage(path: string): string {
  return `field in document is not recognized or is in the wrong location: ${path}`;
}

function collect(value: unknown, type: TypeSpec, path: string, out: string[]): void {
  if (type.kind === "list" && Array.isArray(value)) {
    value.forEach((v, i) => {
      collect(v, type.of, `${path}[${i}]`, out);
    });
  } else if (type.kind === "map" && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) collect(v, type.of, `${path}.${k}`, out);
  } else if (type.kind === "object" && isPlainObject(value)) {
    const known = new Map(type.fields.map((f) => [f.name, f.type]));
    for (const [k, v] of Object.entries(value)) {
      const childPath = path ? `${path}.${k}` : k;
      const childType = known.get(k);
      if (childType) collect(v, childType, childPath, out);
      else out.push(childPath);
    }
  }
}

/**
 * Dotted paths (`spec.ingress[0].foo`) of every field the resource's kind does not define.
 * Unknown kinds and non-objects yield nothing: `validate` reports those.
 */
export function findUnknownFields(resource: unknown): string[] {
  if (!isPlainObject(resource)) return [];
  const schema = resourceSchema(kindOf(resource));
  if (!schema) return [];
  const out: string[] = [];
  collect(resource, schema, "", out);
  return out;
}
