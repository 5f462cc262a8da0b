/**
 * Necessary conditions ("gates") a label set must meet for a selector to match. The label index
 * files each selector under one gate, so a new or changed item need only be tested against the
 * selectors whose gate it meets instead of against every selector.
 */
import type { SelectorNode } from "./ast.js";

/** Label `key` is present and, when `values` is given, holds one of them. */
export interface Prerequisite {
  readonly key: string;
  readonly values?: readonly string[];
}

/**
 * A disjunction: every label set the selector matches meets at least one prerequisite. The
 * empty gate means the selector can never match.
 */
export type Gate = readonly Prerequisite[];

/** How many index buckets a gate spreads over; key-only buckets count extra as they are wide. */
export function staticCost(gate: Gate): number {
  let cost = 0;
  for (const p of gate) cost += p.values ? p.values.length : 10;
  return cost;
}

function cheapest(options: Gate[]): Gate | undefined {
  let best: Gate | undefined;
  for (const g of options) if (!best || staticCost(g) < staticCost(best)) best = g;
  return best;
}

/** A disjunction holds only if each branch has a gate; the union of one gate per branch is one. */
function unionOfBranches(branches: Gate[][]): Gate[] {
  const union: Prerequisite[] = [];
  for (const options of branches) {
    const best = cheapest(options);
    if (!best) return [];
    union.push(...best);
  }
  return [union];
}

/**
 * Alternative gates for `node` (any one is valid); none when the selector can match a label set
 * without any particular label, e.g. `!has(a)` or `all()`. `negated` evaluates `!node`, which
 * lets `!(a != "x")` and De Morgan forms still be gated.
 */
export function gateOptions(node: SelectorNode, negated = false): Gate[] {
  switch (node.kind) {
    case "all":
    case "global":
      return [];
    case "not":
      return gateOptions(node.operand, !negated);
    case "eq":
      return negated ? [] : [[{ key: node.label, values: [node.value] }]];
    case "ne":
      return negated ? [[{ key: node.label, values: [node.value] }]] : [];
    case "in":
      return negated ? [] : [node.values.length ? [{ key: node.label, values: node.values }] : []];
    case "notIn":
      return negated ? [node.values.length ? [{ key: node.label, values: node.values }] : []] : [];
    case "has":
    case "contains":
    case "startsWith":
    case "endsWith":
      return negated ? [] : [[{ key: node.label }]];
    case "and":
    case "or": {
      const branches = node.operands.map((op) => gateOptions(op, negated));
      // `!(a && b)` is `!a || !b`; `!(a || b)` is `!a && !b`.
      const conjunctive = (node.kind === "and") !== negated;
      return conjunctive ? branches.flat() : unionOfBranches(branches);
    }
  }
}
