/**
 * Selectors filed by their gate (see `gates.ts`), so that the ones whose gate a label set meets
 * are found by a few map lookups instead of a scan.
 */
import type { Gate } from "./gates.js";
import { addToNested, addToSet, removeFromNested, removeFromSet } from "./multimap.js";

export interface Gated {
  /** Undefined: no gate, so always a candidate. Empty: never matches, so never filed. */
  readonly gate: Gate | undefined;
}

export class GateBuckets<E extends Gated> {
  readonly #byValue = new Map<string, Map<string, Set<E>>>();
  readonly #byKey = new Map<string, Set<E>>();
  readonly #ungated = new Set<E>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get ungatedCount(): number {
    return this.#ungated.size;
  }

  add(entry: E): void {
    const { gate } = entry;
    if (gate?.length === 0) return;
    this.#size++;
    if (!gate) {
      this.#ungated.add(entry);
      return;
    }
    for (const p of gate) {
      if (p.values) for (const v of p.values) addToNested(this.#byValue, p.key, v, entry);
      else addToSet(this.#byKey, p.key, entry);
    }
  }

  delete(entry: E): void {
    const { gate } = entry;
    if (gate?.length === 0) return;
    this.#size--;
    if (!gate) {
      this.#ungated.delete(entry);
      return;
    }
    for (const p of gate) {
      if (p.values) for (const v of p.values) removeFromNested(this.#byValue, p.key, v, entry);
      else removeFromSet(this.#byKey, p.key, entry);
    }
  }

  /**
   * Visits every entry whose gate `a` or `b` meets, plus the ungated ones; an entry filed under
   * several prerequisites may be visited more than once. Walks whichever is smaller: the label
   * sets or the gate keys.
   */
  forEachMet(
    a: ReadonlyMap<string, string>,
    b: ReadonlyMap<string, string>,
    visit: (entry: E) => void,
  ): void {
    this.#ungated.forEach(visit);
    if (a.size + (a === b ? 0 : b.size) < this.#byValue.size + this.#byKey.size) {
      this.#visitLabels(a, undefined, visit);
      if (b !== a) this.#visitLabels(b, a, visit);
      return;
    }
    for (const [key, byValue] of this.#byValue) {
      const va = a.get(key);
      const vb = b.get(key);
      if (va !== undefined) byValue.get(va)?.forEach(visit);
      if (vb !== undefined && vb !== va) byValue.get(vb)?.forEach(visit);
    }
    for (const [key, entries] of this.#byKey) if (a.has(key) || b.has(key)) entries.forEach(visit);
  }

  /** Buckets met by `labels`, skipping those already covered by `seen`. */
  #visitLabels(
    labels: ReadonlyMap<string, string>,
    seen: ReadonlyMap<string, string> | undefined,
    visit: (entry: E) => void,
  ): void {
    for (const [key, value] of labels) {
      const before = seen?.get(key);
      if (before !== value) this.#byValue.get(key)?.get(value)?.forEach(visit);
      if (before === undefined) this.#byKey.get(key)?.forEach(visit);
    }
  }
}
