/**
 * Canonical form of a resource: what Calico would write after decoding it into its Go types and
 * encoding it again. Keys follow Go struct order, fields Go omits are dropped, always-written
 * fields appear (as zero values when unset), map keys are sorted, and number-or-string values
 * take their canonical JSON form. Fields the schema does not know are dropped, as Go's decoder
 * drops them — run `findUnknownFields` first when that must be an error.
 */
import { canonicalDuration } from "./duration.js";
import type { Resource } from "./meta.js";
import { deepCopy, isEmptyValue, isPlainObject, isZeroValue, kindOf, type PlainObject } from "./plain.js";
import { type FieldSpec, type ObjectType, resourceSchema, type TypeSpec } from "./schema/index.js";
import { canonicalASNumber, canonicalDSCP, canonicalPort, canonicalProtocol } from "./values.js";

/** The value Go writes for an unset field without `omitempty`. */
function zeroOf(type: TypeSpec): unknown {
  switch (type.kind) {
    case "string":
      return "";
    case "int":
    case "float":
    case "protocol":
    case "port":
    case "asNumber":
    case "dscp":
    case "intOrString":
      return 0;
    case "bool":
      return false;
    case "duration":
      return "0s";
    case "object":
      return canonicalObject({}, type);
    default:
      return null;
  }
}

function canonicalObject(value: PlainObject, type: ObjectType): PlainObject {
  const out: PlainObject = {};
  for (const field of type.fields) {
    const v = canonicalField(value[field.name], field);
    if (v !== undefined) out[field.name] = v;
  }
  return out;
}

function canonicalField(raw: unknown, field: FieldSpec): unknown {
  if (raw === undefined || raw === null) return field.omit === "never" ? zeroOf(field.type) : undefined;
  const value = canonicalValue(raw, field.type);
  if (field.omit === "empty" && field.type.kind !== "object" && isEmptyValue(value)) return undefined;
  if (field.omit === "zero" && isZeroValue(value)) return undefined;
  return value;
}

export function canonicalValue(value: unknown, type: TypeSpec): unknown {
  switch (type.kind) {
    case "protocol":
      return canonicalProtocol(value);
    case "port":
      return canonicalPort(value);
    case "asNumber":
      return canonicalASNumber(value);
    case "dscp":
      return canonicalDSCP(value);
    case "duration":
      return canonicalDuration(value);
    case "list":
      return Array.isArray(value) ? value.map((v) => canonicalValue(v, type.of)) : deepCopy(value);
    case "map": {
      if (!isPlainObject(value)) return deepCopy(value);
      const out: PlainObject = {};
      for (const key of Object.keys(value).sort()) out[key] = canonicalValue(value[key], type.of);
      return out;
    }
    case "object":
      return isPlainObject(value) ? canonicalObject(value, type) : deepCopy(value);
    default:
      return deepCopy(value);
  }
}

const envelopeOrder = ["kind", "apiVersion", "metadata", "spec", "status"];

/** A deep copy of `resource` in canonical form (see the module comment). Never throws. */
export function canonicalize<T extends Resource<unknown, unknown> = Resource>(resource: T): T {
  if (!isPlainObject(resource)) return deepCopy(resource);
  const schema = resourceSchema(kindOf(resource));
  if (schema) return canonicalObject(resource, schema) as T;
  const out: PlainObject = {};
  const keys = [
    ...envelopeOrder.filter((k) => k in resource),
    ...Object.keys(resource).filter((k) => !envelopeOrder.includes(k)),
  ];
  for (const key of keys) out[key] = deepCopy((resource as PlainObject)[key]);
  return out as T;
}
