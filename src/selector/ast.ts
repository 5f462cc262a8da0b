/**
 * The parsed form of a selector and its canonical text. The canonical string is an identity
 * (IP-set names hash it), so printing must match Calico's character for character.
 */

export type ValueOp = "eq" | "ne" | "contains" | "startsWith" | "endsWith";
export type SetOp = "in" | "notIn";

export type SelectorNode =
  | { readonly kind: "all" }
  | { readonly kind: "global" }
  | { readonly kind: "has"; readonly label: string }
  | { readonly kind: ValueOp; readonly label: string; readonly value: string }
  /** `values` are sorted in UTF-8 byte order and de-duplicated (see `makeSet`). */
  | { readonly kind: SetOp; readonly label: string; readonly values: readonly string[] }
  | { readonly kind: "not"; readonly operand: SelectorNode }
  /** Always at least two operands: a one-operand chain is just its operand. */
  | { readonly kind: "and" | "or"; readonly operands: readonly SelectorNode[] };

/**
 * Compares strings in UTF-8 byte order, which is Go's string order. UTF-16 order differs only
 * when a surrogate (a code point above U+FFFF) meets a character in U+E000–U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Builds a set node's value list in canonical order. */
export function makeSet(values: Iterable<string>): string[] {
  const sorted = [...values].sort(compareUtf8);
  return sorted.filter((v, i) => i === 0 || v !== sorted[i - 1]);
}

const OP_TEXT: Record<ValueOp, string> = {
  eq: " == ",
  ne: " != ",
  contains: " contains ",
  startsWith: " starts with ",
  endsWith: " ends with ",
};

/** Double quotes unless the value itself holds one; a value with both quotes cannot occur. */
function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

export function printNode(node: SelectorNode): string {
  switch (node.kind) {
    case "all":
      return "all()";
    case "global":
      return "global()";
    case "has":
      return `has(${node.label})`;
    case "eq":
    case "ne":
    case "contains":
    case "startsWith":
    case "endsWith":
      return node.label + OP_TEXT[node.kind] + quote(node.value);
    case "in":
    case "notIn":
      return `${node.label} ${node.kind === "in" ? "in" : "not in"} {${node.values.map(quote).join(", ")}}`;
    case "not":
      return `!${printNode(node.operand)}`;
    case "and":
    case "or":
      return `(${node.operands.map(printNode).join(node.kind === "and" ? " && " : " || ")})`;
  }
}

/** Returns a copy of the tree with every label name passed through `rename`. */
export function mapLabels(node: SelectorNode, rename: (label: string) => string): SelectorNode {
  switch (node.kind) {
    case "all":
    case "global":
      return node;
    case "not":
      return { kind: "not", operand: mapLabels(node.operand, rename) };
    case "and":
    case "or":
      return { kind: node.kind, operands: node.operands.map((op) => mapLabels(op, rename)) };
    default:
      return { ...node, label: rename(node.label) };
  }
}

/** Every label name the tree mentions, in first-mention order. */
export function collectLabels(node: SelectorNode, into: Set<string> = new Set()): Set<string> {
  switch (node.kind) {
    case "all":
    case "global":
      break;
    case "not":
      collectLabels(node.operand, into);
      break;
    case "and":
    case "or":
      for (const op of node.operands) collectLabels(op, into);
      break;
    default:
      into.add(node.label);
  }
  return into;
}
