/** Selector checks: syntax (delegated to the selector parser) and Calico's `global()` rules. */
import { selectorError } from "../../selector/index.js";

/** Why a selector does not parse (Calico's reason and where), or undefined. "" is valid. */
export function selectorSyntaxError(text: string): string | undefined {
  const err = selectorError(text);
  return err && `${err.reason} at position ${err.position}`;
}

const globalAlone = /^[ \t]*global\([ \t]*\)[ \t]*$/;

/** `global()` in an entity-rule namespaceSelector must be the whole selector. */
export function globalCombinedError(text: string): string | undefined {
  if (!text.includes("global(") || globalAlone.test(text)) return undefined;
  return "global() cannot be combined with other selectors";
}
