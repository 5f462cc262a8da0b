import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GateBuckets } from "../../src/selector/gate-buckets.js";
import { type Gate, parseSelector, Selector } from "../../src/selector/index.js";
import { labelsArb, treeArb } from "./arbitraries.js";

function met(gate: Gate, labels: ReadonlyMap<string, string>): boolean {
  return gate.some((p) => {
    const v = labels.get(p.key);
    return v !== undefined && (!p.values || p.values.includes(v));
  });
}

describe("gates", () => {
  it("derives necessary conditions from the selector's structure", () => {
    const options = (text: string) => parseSelector(text).gateOptions();
    expect(options("a == 'x' && has(b)")).toEqual([[{ key: "a", values: ["x"] }], [{ key: "b" }]]);
    expect(options("a == 'x' || b in {'z', 'y'}")).toEqual([
      [
        { key: "a", values: ["x"] },
        { key: "b", values: ["y", "z"] },
      ],
    ]);
    expect(options("!(a != 'x')")).toEqual([[{ key: "a", values: ["x"] }]]);
    expect(options("!(a not in {'x'} || !has(b))")).toEqual([[{ key: "a", values: ["x"] }], [{ key: "b" }]]);
    expect(options("a in {}")).toEqual([[]]);
    expect(options("a == 'x' || !has(b)")).toEqual([]);
    expect(options("a != 'x'")).toEqual([]);
    expect(options("all()")).toEqual([]);
    expect(options("a starts with 'x' && b contains '' && c ends with 'y'")).toHaveLength(3);
  });

  it("every gate option holds for every label set the selector matches", () => {
    fc.assert(
      fc.property(treeArb(), labelsArb(), (tree, labels) => {
        const sel = new Selector(tree);
        const map = new Map(Object.entries(labels));
        if (!sel.matches(map)) return;
        for (const gate of sel.gateOptions()) expect(met(gate, map)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("buckets visit exactly the entries whose gate either label set meets", () => {
    const entryArb = fc.oneof(
      fc.constant(undefined),
      treeArb().map((t) => new Selector(t).gateOptions()[0]),
    );
    fc.assert(
      fc.property(
        fc.array(entryArb, { maxLength: 30 }),
        labelsArb(),
        labelsArb(),
        fc.boolean(),
        (gates, la, lb, same) => {
          const buckets = new GateBuckets<{ gate: Gate | undefined; n: number }>();
          const entries = gates.map((gate, n) => ({ gate, n }));
          entries.forEach((e) => {
            buckets.add(e);
          });
          // Removing and re-adding must leave the buckets as they were.
          entries.slice(0, 3).forEach((e) => {
            buckets.delete(e);
            buckets.add(e);
          });
          const a = new Map(Object.entries(la));
          const b = same ? a : new Map(Object.entries(lb));
          const visited = new Set<number>();
          buckets.forEachMet(a, b, (e) => visited.add(e.n));
          const expected = entries
            .filter((e) => e.gate === undefined || met(e.gate, a) || met(e.gate, b))
            .map((e) => e.n);
          expect([...visited].sort((x, y) => x - y)).toEqual(expected);
          expect(buckets.size).toBe(entries.filter((e) => e.gate?.length !== 0).length);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
