/**
 * A parsed selector: immutable, with evaluation compiled once and the canonical string and
 * hash computed on first use.
 */
import { collectLabels, mapLabels, printNode, type SelectorNode } from "./ast.js";
import { compile, type LabelLookup, type Predicate } from "./compile.js";
import { type Gate, gateOptions } from "./gates.js";
import { parseToNode } from "./parser.js";
import { uniqueId } from "./unique-id.js";

export type Labels = Readonly<Record<string, string>> | LabelLookup;

/** Reads a plain record without ever reaching its prototype (a label may be named `constructor`). */
function recordLookup(record: Readonly<Record<string, string>>): LabelLookup {
  return { get: (key) => (Object.hasOwn(record, key) ? record[key] : undefined) };
}

function asLookup(labels: Labels): LabelLookup {
  return typeof labels.get === "function"
    ? (labels as LabelLookup)
    : recordLookup(labels as Record<string, string>);
}

export class Selector {
  /** Evaluates against a label lookup; a `Map` can be passed directly. */
  readonly evaluate: Predicate;
  #canonical: string | undefined;
  #uid: string | undefined;
  #keys: ReadonlySet<string> | undefined;

  constructor(readonly root: SelectorNode) {
    this.evaluate = compile(root);
  }

  matches(labels: Labels): boolean {
    return this.evaluate(asLookup(labels));
  }

  /** The canonical form; equal strings mean equal selectors. */
  toString(): string {
    this.#canonical ??= printNode(this.root);
    return this.#canonical;
  }

  /** `s:` + hash of the canonical string; Calico's IP-set identity for this selector. */
  uniqueId(): string {
    this.#uid ??= uniqueId("s", this.toString());
    return this.#uid;
  }

  /** Every label name the selector reads. A label change outside this set cannot alter the result. */
  labelKeys(): ReadonlySet<string> {
    this.#keys ??= collectLabels(this.root);
    return this.#keys;
  }

  /** Alternative necessary conditions for a match; see `gates.ts`. */
  gateOptions(): Gate[] {
    return gateOptions(this.root);
  }

  /** The same selector with `prefix` put in front of every label name. */
  withLabelPrefix(prefix: string): Selector {
    return new Selector(mapLabels(this.root, (label) => prefix + label));
  }

  equals(other: Selector): boolean {
    return this.toString() === other.toString();
  }
}

/** Parses selector text; throws `SelectorParseError`. Whitespace other than space/tab is an error. */
export function parseSelector(text: string): Selector {
  return new Selector(parseToNode(text));
}
