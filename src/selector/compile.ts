/**
 * Turns a tree into nested closures once, so evaluation does no tree walking or switching.
 * A missing label is `undefined`; an empty-string value is present.
 */
import type { SelectorNode } from "./ast.js";

/** Anything that can answer "what is label k?"; a `Map<string, string>` qualifies as is. */
export interface LabelLookup {
  get(key: string): string | undefined;
}

export type Predicate = (labels: LabelLookup) => boolean;

const always: Predicate = () => true;

function setMember(label: string, values: readonly string[]): Predicate {
  if (values.length === 0) return () => false;
  if (values.length === 1) {
    const only = values[0];
    return (l) => l.get(label) === only;
  }
  const set = new Set(values);
  return (l) => {
    const v = l.get(label);
    return v !== undefined && set.has(v);
  };
}

function conjunction(parts: Predicate[]): Predicate {
  if (parts.length === 2) {
    const [a, b] = parts as [Predicate, Predicate];
    return (l) => a(l) && b(l);
  }
  return (l) => {
    for (const p of parts) if (!p(l)) return false;
    return true;
  };
}

function disjunction(parts: Predicate[]): Predicate {
  if (parts.length === 2) {
    const [a, b] = parts as [Predicate, Predicate];
    return (l) => a(l) || b(l);
  }
  return (l) => {
    for (const p of parts) if (p(l)) return true;
    return false;
  };
}

export function compile(node: SelectorNode): Predicate {
  switch (node.kind) {
    case "all":
    case "global":
      return always;
    case "has": {
      const { label } = node;
      return (l) => l.get(label) !== undefined;
    }
    case "eq": {
      const { label, value } = node;
      return (l) => l.get(label) === value;
    }
    case "ne": {
      const { label, value } = node;
      return (l) => l.get(label) !== value;
    }
    case "contains": {
      const { label, value } = node;
      return (l) => l.get(label)?.includes(value) ?? false;
    }
    case "startsWith": {
      const { label, value } = node;
      return (l) => l.get(label)?.startsWith(value) ?? false;
    }
    case "endsWith": {
      const { label, value } = node;
      return (l) => l.get(label)?.endsWith(value) ?? false;
    }
    case "in":
      return setMember(node.label, node.values);
    case "notIn": {
      const member = setMember(node.label, node.values);
      return (l) => !member(l);
    }
    case "not": {
      const operand = compile(node.operand);
      return (l) => !operand(l);
    }
    case "and":
      return conjunction(node.operands.map(compile));
    case "or":
      return disjunction(node.operands.map(compile));
  }
}
