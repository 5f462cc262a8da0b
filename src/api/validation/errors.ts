/** Validation errors and Calico's text rendering of them. */
import { isPlainObject, textOf } from "../plain.js";

export interface ValidationError {
  /** Where the problem is, as a JSON path: `spec.ingress[0].protocol`, `metadata.name`. */
  field: string;
  /** The offending value, when one value is to blame. */
  value?: unknown;
  /** Why it is rejected; Calico's own wording wherever Calico has one. */
  reason: string;
}

/** Renders a value the way Go's `%v` would for the types that occur in resources. */
function formatValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(formatValue).join(" ")}]`;
  if (isPlainObject(value)) {
    const parts = Object.keys(value)
      .sort()
      .map((k) => `${k}:${formatValue(value[k])}`);
    return `map[${parts.join(" ")}]`;
  }
  if (value === null) return "<nil>";
  return textOf(value);
}

function formatField(e: ValidationError): string {
  const head = "value" in e && e.value !== undefined ? `${e.field} = '${formatValue(e.value)}'` : e.field;
  return e.reason ? `${head} (${e.reason})` : head;
}

/**
 * Calico's message shape: `error with field <f> = '<v>' (<reason>)` for one error, and
 * `error with the following fields:` followed by one `-  <f> = '<v>' (<reason>)` line each.
 */
export function formatValidationErrors(errors: readonly ValidationError[]): string {
  if (errors.length === 0) return "unknown validation error";
  if (errors.length === 1) return `error with field ${formatField(errors[0]!)}`;
  return `error with the following fields:\n${errors.map((e) => `-  ${formatField(e)}\n`).join("")}`;
}

/** Collects errors while walking a resource. */
export class Issues {
  readonly list: ValidationError[] = [];

  add(field: string, reason: string, value?: unknown): void {
    this.list.push(value === undefined ? { field, reason } : { field, value, reason });
  }
}
