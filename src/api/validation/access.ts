/** Defensive readers for possibly ill-typed input: wrong types read as absent. */
import { isPlainObject, type PlainObject } from "../plain.js";

export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asObject(value: unknown): PlainObject {
  return isPlainObject(value) ? value : {};
}

/** Present and not empty: CEL's `has(x) && size(x) > 0`, or a true boolean. */
export function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}
