/**
 * A parsed selector: immutable, with evaluation compiled once and the canonical string and
 * hash computed on first use.
 */
import { collectLabels, mapLabels, printNode, type SelectorNode } from "./ast.js";
import {
  compile,
  compileForRecords,
  type LabelLookup,
  type Predicate,
  type RecordPredicate,
} from "./compile.js";
import { type Gate, gateOptions } from "./gates.js";
import { parseToNode } from "./parser.js";
import { uniqueId } from "./unique-id.js";

export type Labels = Readonly<Record<string, string>> | LabelLookup;

export class Selector {
  /** Evaluates against a label lookup; a `Map` can be passed directly. */
  readonly evaluate: Predicate;
  #canonical: string | undefined;
  #uid: string | undefined;
  #keys: ReadonlySet<string> | undefined;
  #gates: readonly Gate[] | undefined;
  #forRecords: RecordPredicate | undefined;

  constructor(readonly root: SelectorNode) {
    this.evaluate = compile(root);
  }

  /** Evaluates against a plain record (own properties only), a `Map`, or any `LabelLookup`. */
  matches(labels: Labels): boolean {
    if (typeof labels.get === "function") return this.evaluate(labels as LabelLookup);
    this.#forRecords ??= compileForRecords(this.root);
    return this.#forRecords(labels as Readonly<Record<string, string>>);
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
  gateOptions(): readonly Gate[] {
    this.#gates ??= gateOptions(this.root);
    return this.#gates;
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
