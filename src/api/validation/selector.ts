/** Selector checks: syntax (delegated to the selector parser) and Calico's `global()` rules. */
import { parseSelector } from "../../selector/index.js";

/** Why a selector does not parse, or undefined when it does. The empty selector is valid. */
export function selectorSyntaxError(text: string): string | undefined {
  try {
    parseSelector(text);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const globalAlone = /^[ \t]*global\([ \t]*\)[ \t]*$/;

/** `global()` in an entity-rule namespaceSelector must be the whole selector. */
export function globalCombinedError(text: string): string | undefined {
  if (!text.includes("global(") || globalAlone.test(text)) return undefined;
  return "global() cannot be combined with other selectors";
}
