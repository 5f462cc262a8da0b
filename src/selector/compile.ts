/**
 * Turns a tree into nested closures once, so evaluation does no tree walking or switching.
 * The closures read labels through a `Reader`, one per kind of label source, so `Map`s and
 * plain records are each read directly. A missing label is `undefined`; an empty-string value
 * is present.
 */
import type { SelectorNode } from "./ast.js";

/** Anything that can answer "what is label k?"; a `Map<string, string>` qualifies as is. */
export interface LabelLookup {
  get(key: string): string | undefined;
}

export type Predicate = (labels: LabelLookup) => boolean;
export type RecordPredicate = (labels: Readonly<Record<string, string>>) => boolean;

type Reader<S> = (source: S, key: string) => string | undefined;

const readLookup: Reader<LabelLookup> = (l, key) => l.get(key);
// Own properties only: a label may be called `constructor` or `__proto__`.
const readRecord: Reader<Readonly<Record<string, string>>> = (r, key) =>
  Object.hasOwn(r, key) ? r[key] : undefined;

function compileWith<S>(node: SelectorNode, read: Reader<S>): (source: S) => boolean {
  const sub = (n: SelectorNode) => compileWith(n, read);
  switch (node.kind) {
    case "all":
    case "global":
      return () => true;
    case "has": {
      const { label } = node;
      return (l) => read(l, label) !== undefined;
    }
    case "eq": {
      const { label, value } = node;
      return (l) => read(l, label) === value;
    }
    case "ne": {
      const { label, value } = node;
      return (l) => read(l, label) !== value;
    }
    case "contains": {
      const { label, value } = node;
      return (l) => read(l, label)?.includes(value) ?? false;
    }
    case "startsWith": {
      const { label, value } = node;
      return (l) => read(l, label)?.startsWith(value) ?? false;
    }
    case "endsWith": {
      const { label, value } = node;
      return (l) => read(l, label)?.endsWith(value) ?? false;
    }
    case "in":
    case "notIn": {
      const { label, values } = node;
      const want = node.kind === "in";
      if (values.length === 0) return () => !want;
      if (values.length === 1) {
        const only = values[0];
        return (l) => (read(l, label) === only) === want;
      }
      const set = new Set(values);
      return (l) => {
        const v = read(l, label);
        return (v !== undefined && set.has(v)) === want;
      };
    }
    case "not": {
      const operand = sub(node.operand);
      return (l) => !operand(l);
    }
    case "and": {
      const parts = node.operands.map(sub);
      if (parts.length === 2) {
        const [a, b] = parts as [(s: S) => boolean, (s: S) => boolean];
        return (l) => a(l) && b(l);
      }
      return (l) => {
        for (const p of parts) if (!p(l)) return false;
        return true;
      };
    }
    case "or": {
      const parts = node.operands.map(sub);
      if (parts.length === 2) {
        const [a, b] = parts as [(s: S) => boolean, (s: S) => boolean];
        return (l) => a(l) || b(l);
      }
      return (l) => {
        for (const p of parts) if (p(l)) return true;
        return false;
      };
    }
  }
}

export function compile(node: SelectorNode): Predicate {
  return compileWith(node, readLookup);
}

export function compileForRecords(node: SelectorNode): RecordPredicate {
  return compileWith(node, readRecord);
}
