/**
 * fast-check generators for selector trees and label maps, plus an independent reference
 * evaluator and a "noisy" printer that writes a tree in any of the spellings Calico accepts.
 */
import fc from "fast-check";
import { makeSet, type SelectorNode } from "../../src/selector/ast.js";
import { prng } from "../support/prng.js";

export const KEYS = ["a", "b", "c", "k8s-app", "x.io/y"] as const;

/** Small alphabet so generated values and label values collide often. */
export const valueArb = fc
  .string({ unit: fc.constantFrom("x", "y", " ", "&", "(", '"', "'", "é", "😀"), maxLength: 3 })
  .filter((v) => !(v.includes('"') && v.includes("'")));

export function treeArb(keys: readonly string[] = KEYS, values = valueArb): fc.Arbitrary<SelectorNode> {
  const key = fc.constantFrom(...keys);
  const leaf: fc.Arbitrary<SelectorNode> = fc.oneof(
    fc.constant({ kind: "all" } as const),
    fc.constant({ kind: "global" } as const),
    key.map((label) => ({ kind: "has", label }) as const),
    fc
      .tuple(fc.constantFrom("eq", "ne", "contains", "startsWith", "endsWith"), key, values)
      .map(([kind, label, value]) => ({ kind, label, value }) as const),
    fc
      .tuple(fc.constantFrom("in", "notIn"), key, fc.array(values, { maxLength: 3 }))
      .map(([kind, label, vs]) => ({ kind, label, values: makeSet(vs) }) as const),
  );
  const { node } = fc.letrec<{ node: SelectorNode; nonNot: SelectorNode; chain: SelectorNode }>((tie) => ({
    node: fc.oneof({ maxDepth: 3, depthIdentifier: "tree" }, leaf, tie("chain"), tie("nonNot").map(negate)),
    // The parser never builds a negation directly around a negation from canonical text.
    nonNot: fc.oneof({ maxDepth: 3, depthIdentifier: "tree" }, leaf, tie("chain")),
    chain: fc
      .tuple(fc.constantFrom("and", "or"), fc.array(tie("node"), { minLength: 2, maxLength: 3 }))
      .map(([kind, operands]) => ({ kind, operands }) as const),
  }));
  return node;
}

function negate(operand: SelectorNode): SelectorNode {
  return { kind: "not", operand };
}

export const labelsArb = (keys: readonly string[] = KEYS): fc.Arbitrary<Record<string, string>> =>
  fc.dictionary(fc.constantFrom(...keys), valueArb, { maxKeys: keys.length });

/** Straightforward tree-walking evaluator, written independently of `compile.ts`. */
export function referenceEval(node: SelectorNode, labels: Record<string, string>): boolean {
  const get = (k: string) => (Object.hasOwn(labels, k) ? labels[k] : undefined);
  switch (node.kind) {
    case "all":
    case "global":
      return true;
    case "has":
      return get(node.label) !== undefined;
    case "eq":
      return get(node.label) === node.value;
    case "ne":
      return get(node.label) !== node.value;
    case "contains": {
      const v = get(node.label);
      return v !== undefined && v.indexOf(node.value) >= 0;
    }
    case "startsWith": {
      const v = get(node.label);
      return v !== undefined && v.slice(0, node.value.length) === node.value;
    }
    case "endsWith": {
      const v = get(node.label);
      return (
        v !== undefined &&
        v.length >= node.value.length &&
        v.slice(v.length - node.value.length) === node.value
      );
    }
    case "in": {
      const v = get(node.label);
      return v !== undefined && node.values.includes(v);
    }
    case "notIn": {
      const v = get(node.label);
      return v === undefined || !node.values.includes(v);
    }
    case "not":
      return !referenceEval(node.operand, labels);
    case "and":
      return node.operands.every((op) => referenceEval(op, labels));
    case "or":
      return node.operands.some((op) => referenceEval(op, labels));
  }
}

/**
 * Prints `node` with random optional whitespace, either quote style where legal, shuffled and
 * repeated set members, redundant parentheses and `!!` prefixes, and `startswith`/`notin`
 * spellings — all of which must parse back to the same tree.
 */
export function noisyPrint(node: SelectorNode, seed: number): string {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const ws = () => pick(["", "", " ", "\t", "  "]);
  const ws1 = () => pick([" ", "\t", " \t "]);
  const quoted = (v: string) => {
    const q = v.includes('"') ? "'" : v.includes("'") ? '"' : pick(["'", '"']);
    return q + v + q;
  };
  const words = (a: string, b: string) => a + pick(["", " ", "\t", "   "]) + b;

  const print = (n: SelectorNode, bareChainOk: boolean, inOr: boolean): string => {
    let out: string;
    switch (n.kind) {
      case "all":
        out = `all(${ws()})`;
        break;
      case "global":
        out = `global(${ws()})`;
        break;
      case "has":
        out = `has(${ws()}${n.label}${ws()})`;
        break;
      case "eq":
      case "ne":
        out = `${n.label}${ws()}${n.kind === "eq" ? "==" : "!="}${ws()}${quoted(n.value)}`;
        break;
      case "contains":
        out = `${n.label}${ws1()}contains${ws()}${quoted(n.value)}`;
        break;
      case "startsWith":
        out = `${n.label}${ws1()}${words("starts", "with")}${ws()}${quoted(n.value)}`;
        break;
      case "endsWith":
        out = `${n.label}${ws1()}${words("ends", "with")}${ws()}${quoted(n.value)}`;
        break;
      case "in":
      case "notIn": {
        const members = [...n.values].sort(() => rnd() - 0.5);
        if (members.length && rnd() < 0.3) members.push(members[0]!);
        const body = members.map((v) => ws() + quoted(v) + ws()).join(",");
        const trailing = members.length && rnd() < 0.3 ? "," : "";
        const op = n.kind === "in" ? "in" : words("not", "in");
        out = `${n.label}${ws1()}${op}${ws()}{${body}${trailing}${ws()}}`;
        break;
      }
      case "not":
        out = `!${ws()}${print(n.operand, false, false)}`;
        break;
      case "and":
      case "or": {
        const inner = n.operands
          .map((op) => print(op, false, n.kind === "or"))
          .join(`${ws()}${n.kind === "and" ? "&&" : "||"}${ws()}`);
        // `a && b || c` parses as an Or of an And, so an And chain may drop its parentheses there.
        const bare = bareChainOk || (n.kind === "and" && inOr);
        out = bare && rnd() < 0.5 ? inner : `(${ws()}${inner}${ws()})`;
        break;
      }
    }
    if (rnd() < 0.15) out = `(${ws()}${out}${ws()})`;
    if (rnd() < 0.15) out = `!${ws()}!${ws()}${n.kind === "and" || n.kind === "or" ? `(${out})` : out}`;
    return out;
  };
  return ws() + print(node, true, false) + ws();
}
