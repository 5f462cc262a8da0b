import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { printNode, type SelectorNode } from "../../src/selector/ast.js";
import { parseSelector, Selector, SelectorParseError } from "../../src/selector/index.js";
import { labelsArb, noisyPrint, referenceEval, treeArb } from "./arbitraries.js";

function hasDoubleNegation(node: SelectorNode): boolean {
  switch (node.kind) {
    case "not":
      return node.operand.kind === "not" || hasDoubleNegation(node.operand);
    case "and":
    case "or":
      return node.operands.some(hasDoubleNegation);
    default:
      return false;
  }
}

describe("selector properties", () => {
  it("canonical text parses back to the same canonical text and the same verdicts", () => {
    fc.assert(
      fc.property(treeArb(), fc.array(labelsArb(), { minLength: 1, maxLength: 8 }), (tree, labelSets) => {
        const canonical = printNode(tree);
        const reparsed = parseSelector(canonical);
        expect(reparsed.toString()).toBe(canonical);
        expect(reparsed.uniqueId()).toBe(new Selector(tree).uniqueId());
        for (const labels of labelSets) {
          const expected = referenceEval(tree, labels);
          expect(reparsed.matches(labels)).toBe(expected);
          expect(new Selector(tree).matches(new Map(Object.entries(labels)))).toBe(expected);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("every accepted spelling of a tree has the same canonical form", () => {
    fc.assert(
      fc.property(treeArb(), fc.integer(), (tree, seed) => {
        const text = noisyPrint(tree, seed);
        expect(parseSelector(text).toString(), text).toBe(printNode(tree));
      }),
      { numRuns: 500 },
    );
  });

  it("prefixing labels changes names only", () => {
    fc.assert(
      fc.property(treeArb(), labelsArb(), (tree, labels) => {
        const sel = new Selector(tree);
        const prefixed = sel.withLabelPrefix("pcns.");
        const moved = Object.fromEntries(Object.entries(labels).map(([k, v]) => [`pcns.${k}`, v]));
        expect(prefixed.matches(moved)).toBe(sel.matches(labels));
        expect([...prefixed.labelKeys()]).toEqual([...sel.labelKeys()].map((k) => `pcns.${k}`));
      }),
    );
  });

  it("arbitrary text either parses to a stable selector or fails with a positioned SelectorParseError", () => {
    const tokenish = fc.constantFrom(
      "a",
      "b",
      " ",
      "\t",
      "==",
      "!=",
      "!",
      "&&",
      "||",
      "(",
      ")",
      "{",
      "}",
      ",",
      "'x'",
      '"y"',
      "in",
      "not",
      "contains",
      "starts",
      "with",
      "has(",
      "all(",
      "global(",
      "=",
      "&",
      "|",
      "'",
      "\n",
    );
    fc.assert(
      fc.property(fc.array(tokenish, { maxLength: 12 }), labelsArb(["a", "b"]), (parts, labels) => {
        const text = parts.join("");
        let sel: Selector;
        try {
          sel = parseSelector(text);
        } catch (err) {
          expect(err).toBeInstanceOf(SelectorParseError);
          const e = err as SelectorParseError;
          expect(e.position).toBeGreaterThanOrEqual(0);
          expect(e.position).toBeLessThanOrEqual(text.length);
          return;
        }
        const again = parseSelector(sel.toString());
        expect(again.matches(labels)).toBe(sel.matches(labels));
        if (!hasDoubleNegation(sel.root)) expect(again.toString()).toBe(sel.toString());
      }),
      { numRuns: 2000 },
    );
  });
});
