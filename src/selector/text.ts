/**
 * String-level helpers for code that stores or rewrites selectors as text (validation, the
 * syncer's namespace rewriting, Felix's IP-set naming).
 */
import { SelectorParseError } from "./errors.js";
import { parseSelector, type Selector } from "./selector.js";

// Go's TrimSpace (Unicode White_Space): like JS `\s` but with U+0085 and without U+FEFF.
const LEADING_SPACE = /^(?:[^\S\ufeff]|\u0085)+/;
const TRAILING_SPACE = /(?:[^\S\ufeff]|\u0085)+$/;

function trimSpace(text: string): string {
  return text.replace(LEADING_SPACE, "").replace(TRAILING_SPACE, "");
}

/** Trims, parses and prints canonically; text that does not parse comes back trimmed. */
export function normaliseSelector(text: string): string {
  const trimmed = trimSpace(text);
  try {
    return parseSelector(trimmed).toString();
  } catch (err) {
    if (err instanceof SelectorParseError) return trimmed;
    throw err;
  }
}

/** The parse error for `text`, or undefined when it is a valid selector. Nothing is trimmed. */
export function selectorError(text: string): SelectorParseError | undefined {
  try {
    parseSelector(text);
    return undefined;
  } catch (err) {
    if (err instanceof SelectorParseError) return err;
    throw err;
  }
}

/** Validation is parse-only, so the empty string is valid and a trailing newline is not. */
export function isValidSelector(text: string): boolean {
  return selectorError(text) === undefined;
}

/** Canonical string of `selector` with `prefix` in front of every label name (e.g. `pcns.`). */
export function prefixLabels(selector: Selector | string, prefix: string): string {
  const parsed = typeof selector === "string" ? parseSelector(selector) : selector;
  return parsed.withLabelPrefix(prefix).toString();
}
