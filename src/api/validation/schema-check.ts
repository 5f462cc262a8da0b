/**
 * Generic checks driven by the schema: JSON types, enums, ranges, lengths, list sizes and the
 * named string formats. Kind-specific rules live in the per-kind validators.
 */
import { parseGoDuration } from "../duration.js";
import { isPlainObject } from "../plain.js";
import type { FieldSpec, StringType, TypeSpec } from "../schema/index.js";
import { dscpError, parseASNumber, portError, protocolError } from "../values.js";
import type { Issues } from "./errors.js";
import { formatError } from "./formats.js";

export function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function supported(values: readonly (string | number)[]): string {
  return `supported values: ${values.map((v) => (typeof v === "string" ? `"${v}"` : String(v))).join(", ")}`;
}

function checkString(
  value: string,
  type: StringType,
  path: string,
  issues: Issues,
  emptyIsUnset: boolean,
): void {
  if (value === "" && emptyIsUnset) return;
  if (type.enum) {
    const ok = type.caseInsensitive
      ? type.enum.some((e) => e.toLowerCase() === value.toLowerCase())
      : type.enum.includes(value);
    if (!ok) issues.add(path, supported(type.enum), value);
  }
  if (type.pattern && !type.pattern.test(value))
    issues.add(path, `should match '${type.pattern.source}'`, value);
  if (type.maxLength !== undefined && Buffer.byteLength(value) > type.maxLength) {
    issues.add(path, `must have at most ${type.maxLength} bytes`, value);
  }
  if (type.noGlobal && value.includes("global(")) issues.add(path, type.noGlobal, value);
  if (type.format && value !== "") {
    const reason = formatError(type.format, value);
    if (reason) issues.add(path, reason, value);
  }
}

function isMissing(value: unknown): boolean {
  return (
    value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0)
  );
}

/**
 * Go decodes an absent number into 0 and, without omitempty, writes it back, so Calico judges a
 * missing `port: ` or `protocol: ` as 0 (`should be greater than or equal to 1`, `protocol
 * number invalid`) instead of skipping it.
 */
function goValue(value: unknown, field: FieldSpec): unknown {
  if (value !== undefined || field.omit !== "never") return value;
  return field.type.kind === "int" || field.type.kind === "protocol" ? 0 : value;
}

function checkField(
  container: Record<string, unknown>,
  field: FieldSpec,
  path: string,
  issues: Issues,
): void {
  const value = container[field.name];
  const fieldPath = join(path, field.name);
  if (field.required && isMissing(value)) {
    issues.add(fieldPath, "Required value");
    return;
  }
  checkValue(goValue(value, field), field.type, fieldPath, issues, field.omit === "empty");
}

/** Reports every schema violation of `value` against `type` under `path`. */
export function checkValue(
  value: unknown,
  type: TypeSpec,
  path: string,
  issues: Issues,
  emptyIsUnset = false,
): void {
  if (value === undefined || value === null) return;
  switch (type.kind) {
    case "string":
      if (typeof value !== "string") issues.add(path, "must be of type string", value);
      else checkString(value, type, path, issues, emptyIsUnset);
      return;
    case "int":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        issues.add(path, "must be of type integer", value);
      } else if (type.values && !type.values.includes(value)) {
        issues.add(path, supported(type.values), value);
      } else if (type.min !== undefined && value < type.min) {
        issues.add(path, `should be greater than or equal to ${type.min}`, value);
      } else if (type.max !== undefined && value > type.max) {
        issues.add(path, `should be less than or equal to ${type.max}`, value);
      }
      return;
    case "float":
      if (typeof value !== "number" || !Number.isFinite(value))
        issues.add(path, "must be of type number", value);
      return;
    case "bool":
      if (typeof value !== "boolean") issues.add(path, "must be of type boolean", value);
      return;
    case "duration":
      if (typeof value !== "string") issues.add(path, "must be a duration string such as 90s", value);
      else if (parseGoDuration(value) === undefined)
        issues.add(path, `time: invalid duration "${value}"`, value);
      return;
    case "time":
      if (typeof value !== "string") issues.add(path, "must be a timestamp string", value);
      return;
    case "protocol": {
      const reason = protocolError(value);
      if (reason) issues.add(path, reason, value);
      return;
    }
    case "port": {
      const reason = portError(value);
      if (reason) issues.add(path, reason, value);
      return;
    }
    case "asNumber": {
      const parsed = parseASNumber(value);
      if (!parsed.ok) issues.add(path, parsed.error, value);
      return;
    }
    case "dscp": {
      const reason = dscpError(value);
      if (reason) issues.add(path, reason, value);
      return;
    }
    case "intOrString":
      if (typeof value !== "string" && !(typeof value === "number" && Number.isInteger(value))) {
        issues.add(path, "must be an integer or a string", value);
      }
      return;
    case "list":
      if (!Array.isArray(value)) {
        issues.add(path, "must be of type array", value);
        return;
      }
      // An empty `omitempty` list is never written, so size limits cannot apply to it.
      if (emptyIsUnset && value.length === 0) return;
      if (type.maxItems !== undefined && value.length > type.maxItems) {
        issues.add(path, `must have at most ${type.maxItems} items`);
      }
      if (type.minItems !== undefined && value.length < type.minItems) {
        issues.add(path, `must have at least ${type.minItems} items`);
      }
      if (type.unique) {
        // Kubernetes' wording for a repeated entry in a `+listType=set` list.
        const seen = new Set<unknown>();
        value.forEach((v, i) => {
          if (seen.has(v)) issues.add(`${path}[${i}]`, "Duplicate value", v);
          seen.add(v);
        });
      }
      value.forEach((v, i) => {
        checkValue(v, type.of, `${path}[${i}]`, issues);
      });
      return;
    case "map":
      if (!isPlainObject(value)) {
        issues.add(path, "must be of type object", value);
        return;
      }
      for (const [k, v] of Object.entries(value)) checkValue(v, type.of, `${path}.${k}`, issues);
      return;
    case "object":
      if (!isPlainObject(value)) {
        issues.add(path, "must be of type object", value);
        return;
      }
      for (const field of type.fields) checkField(value, field, path, issues);
      return;
    case "any":
      return;
  }
}
