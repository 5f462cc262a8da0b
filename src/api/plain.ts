/** Helpers for working with untyped values decoded from YAML or JSON. */

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep copy of JSON-like data (objects, arrays, scalars). */
export function deepCopy<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => deepCopy(v)) as T;
  if (isPlainObject(value)) {
    const out: PlainObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = deepCopy(v);
    return out as T;
  }
  return value;
}

/** Go's notion of an empty value for `omitempty`: "", 0, false, and empty lists or maps. */
export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isPlainObject(value)) return Object.keys(value).length === 0;
  return false;
}

/** Every leaf is empty (Go's `omitzero` on a struct). */
export function isZeroValue(value: unknown): boolean {
  if (isPlainObject(value)) return Object.values(value).every(isZeroValue);
  return isEmptyValue(value);
}

/** Text for a value of any shape, for messages; unlike `String()` it cannot throw. */
export function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object") return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return "[object]";
  }
}

/** The `kind` of a decoded document, or "" when it has none. */
export function kindOf(doc: PlainObject): string {
  return typeof doc.kind === "string" ? doc.kind : "";
}
