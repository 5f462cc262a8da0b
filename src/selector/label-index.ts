/**
 * Incrementally maintains which selectors match which labelled items (endpoints, network sets),
 * where an item's labels are its own plus those inherited from its parents (profiles).
 *
 * Cost model: each selector is filed under a gate, a necessary condition such as
 * `app == "x"` or `has(app)` (see `gates.ts`). A selector's result can only change when a label
 * it reads changes, and only if the item meets its gate before or after the change; so a label
 * change re-tests just the selectors that read that label and whose gate the item meets. A new
 * item is tested against the selectors whose gate it meets (plus the rare ungated ones), and a
 * new selector against the items meeting its gate, found through an index of items by label.
 *
 * Callbacks run synchronously, after the index has recorded the change; they must not modify
 * the index, nor hold on to the sets the query methods return across later updates.
 */
import type { Predicate } from "./compile.js";
import { GateBuckets } from "./gate-buckets.js";
import { type Gate, staticCost } from "./gates.js";
import { addToNested, removeFromNested } from "./multimap.js";
import { parseSelector, type Selector } from "./selector.js";

export type LabelSource = Readonly<Record<string, string>> | ReadonlyMap<string, string>;
export type MatchCallback<SelId, ItemId> = (selId: SelId, itemId: ItemId) => void;

interface SelectorEntry<SelId, ItemId> {
  readonly id: SelId;
  readonly selector: Selector;
  readonly evaluate: Predicate;
  /** Undefined: no gate, tested against every new item. Empty: can never match. */
  gate: Gate | undefined;
  readonly matches: Set<ItemId>;
  /** Pass number of the last evaluation, to test each selector at most once per pass. */
  seen: number;
}

interface ItemEntry<ItemId, SelId, ParentId> {
  readonly id: ItemId;
  own: ReadonlyMap<string, string>;
  parents: readonly ParentId[];
  /** Effective labels: own labels over parents' labels, earlier parents over later ones. */
  labels: ReadonlyMap<string, string>;
  readonly matches: Set<SelId>;
}

interface ParentEntry<ItemId> {
  labels: ReadonlyMap<string, string> | undefined;
  readonly children: Set<ItemId>;
}

const EMPTY_LABELS: ReadonlyMap<string, string> = new Map();
const EMPTY_SET: ReadonlySet<never> = new Set();

/** Below this many items, gate choice hardly matters; see `#regateIfGrown`. */
const REGATE_MIN_ITEMS = 64;

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameLabels(a: ReadonlyMap<string, string> | undefined, b: ReadonlyMap<string, string>): boolean {
  if (!a || a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** Copies the caller's labels, since the caller may mutate them later. */
function toMap(labels: LabelSource): ReadonlyMap<string, string> {
  if (labels instanceof Map) return new Map(labels);
  const map = new Map<string, string>();
  const record = labels as Readonly<Record<string, string>>;
  // Several times faster than `new Map(Object.entries(...))`, which is on the hot path.
  for (const key of Object.keys(record)) map.set(key, record[key]!);
  return map;
}

export class LabelIndex<ItemId, SelId, ParentId = string> {
  readonly #selectors = new Map<SelId, SelectorEntry<SelId, ItemId>>();
  readonly #items = new Map<ItemId, ItemEntry<ItemId, SelId, ParentId>>();
  readonly #parents = new Map<ParentId, ParentEntry<ItemId>>();

  /** Items by effective label: key → value → items. */
  readonly #itemsByLabel = new Map<string, Map<string, Set<ItemEntry<ItemId, SelId, ParentId>>>>();
  readonly #itemCountByKey = new Map<string, number>();

  /** Every selector that can match, by gate. */
  readonly #all = new GateBuckets<SelectorEntry<SelId, ItemId>>();
  /** For each label key, the selectors that read it, by gate. */
  readonly #readers = new Map<string, GateBuckets<SelectorEntry<SelId, ItemId>>>();

  #pass = 0;
  #itemsAtLastGating = 0;

  constructor(
    private readonly onMatchStarted: MatchCallback<SelId, ItemId>,
    private readonly onMatchStopped: MatchCallback<SelId, ItemId>,
  ) {}

  // ---- selectors ----

  /** Adds or replaces a selector; only the difference in matches is reported. */
  updateSelector(id: SelId, selector: Selector | string): void {
    const parsed = typeof selector === "string" ? parseSelector(selector) : selector;
    const old = this.#selectors.get(id);
    if (old && old.selector.toString() === parsed.toString()) return;

    const gate = this.#chooseGate(parsed);
    const entry: SelectorEntry<SelId, ItemId> = {
      id,
      selector: parsed,
      evaluate: parsed.evaluate,
      gate,
      matches: new Set(),
      seen: 0,
    };
    this.#forEachGateCandidate(gate, (item) => {
      if (entry.evaluate(item.labels)) entry.matches.add(item.id);
    });

    if (old) {
      this.#unregister(old);
      for (const itemId of old.matches) {
        if (entry.matches.has(itemId)) continue;
        this.#items.get(itemId)!.matches.delete(id);
        this.onMatchStopped(id, itemId);
      }
    }
    this.#register(entry);
    this.#selectors.set(id, entry);
    for (const itemId of entry.matches) {
      if (old?.matches.has(itemId)) continue;
      this.#items.get(itemId)!.matches.add(id);
      this.onMatchStarted(id, itemId);
    }
  }

  deleteSelector(id: SelId): void {
    const entry = this.#selectors.get(id);
    if (!entry) return;
    this.#unregister(entry);
    this.#selectors.delete(id);
    for (const itemId of entry.matches) {
      this.#items.get(itemId)!.matches.delete(id);
      this.onMatchStopped(id, itemId);
    }
  }

  // ---- items ----

  /**
   * Sets an item's own labels and its parents (full replacement). Parents may be given before
   * their labels are known; an unknown parent contributes no labels.
   */
  updateLabels(id: ItemId, labels: LabelSource, parentIds: readonly ParentId[] = []): void {
    let item = this.#items.get(id);
    const fresh = !item;
    if (!item) {
      item = { id, own: EMPTY_LABELS, parents: [], labels: EMPTY_LABELS, matches: new Set() };
      this.#items.set(id, item);
      this.#regateIfGrown();
    }
    if (!sameList(item.parents, parentIds)) {
      const oldParents = new Set(item.parents);
      const newParents = new Set(parentIds);
      for (const p of oldParents) if (!newParents.has(p)) this.#unlinkParent(p, id);
      for (const p of newParents) if (!oldParents.has(p)) this.#parentEntry(p).children.add(id);
      item.parents = [...parentIds];
    }
    item.own = toMap(labels);
    this.#relabel(item, this.#effectiveLabels(item), fresh);
  }

  deleteLabels(id: ItemId): void {
    const item = this.#items.get(id);
    if (!item) return;
    for (const selId of item.matches) {
      this.#selectors.get(selId)!.matches.delete(id);
      this.onMatchStopped(selId, id);
    }
    for (const [key, value] of item.labels) this.#unindexItemLabel(item, key, value);
    for (const p of new Set(item.parents)) this.#unlinkParent(p, id);
    this.#items.delete(id);
  }

  // ---- parents ----

  /** Sets the labels a parent passes to its children; only those children are re-tested. */
  updateParentLabels(id: ParentId, labels: LabelSource): void {
    const parent = this.#parentEntry(id);
    const map = toMap(labels);
    // Resyncs resend unchanged profiles; skip touching every child for those.
    if (sameLabels(parent.labels, map)) return;
    parent.labels = map;
    this.#relabelChildren(parent);
  }

  deleteParentLabels(id: ParentId): void {
    const parent = this.#parents.get(id);
    if (!parent) return;
    parent.labels = undefined;
    this.#relabelChildren(parent);
    if (parent.children.size === 0) this.#parents.delete(id);
  }

  // ---- queries ----

  /** Selectors currently matching the item (empty for an unknown item). */
  selectorsMatching(itemId: ItemId): ReadonlySet<SelId> {
    return this.#items.get(itemId)?.matches ?? EMPTY_SET;
  }

  /** Items currently matching the selector (empty for an unknown selector). */
  itemsMatching(selId: SelId): ReadonlySet<ItemId> {
    return this.#selectors.get(selId)?.matches ?? EMPTY_SET;
  }

  isMatch(selId: SelId, itemId: ItemId): boolean {
    return this.#selectors.get(selId)?.matches.has(itemId) ?? false;
  }

  /** The labels selectors are evaluated against: own labels merged over inherited ones. */
  effectiveLabels(itemId: ItemId): ReadonlyMap<string, string> | undefined {
    return this.#items.get(itemId)?.labels;
  }

  getSelector(selId: SelId): Selector | undefined {
    return this.#selectors.get(selId)?.selector;
  }

  get stats(): { items: number; selectors: number; parents: number; ungatedSelectors: number } {
    return {
      items: this.#items.size,
      selectors: this.#selectors.size,
      parents: this.#parents.size,
      ungatedSelectors: this.#all.ungatedCount,
    };
  }

  // ---- internals: gates ----

  /** Items that could meet the gate now, estimated from the item label index. */
  #estimate(gate: Gate): number {
    let n = 0;
    for (const p of gate) {
      if (!p.values) {
        n += this.#itemCountByKey.get(p.key) ?? 0;
        continue;
      }
      const byValue = this.#itemsByLabel.get(p.key);
      if (byValue) for (const v of p.values) n += byValue.get(v)?.size ?? 0;
    }
    return n;
  }

  /** Picks the alternative that admits the fewest current items, then the narrowest. */
  #chooseGate(selector: Selector): Gate | undefined {
    let best: Gate | undefined;
    let bestEstimate = 0;
    let bestCost = 0;
    for (const gate of selector.gateOptions()) {
      const estimate = this.#estimate(gate);
      const cost = staticCost(gate);
      if (!best || estimate < bestEstimate || (estimate === bestEstimate && cost < bestCost)) {
        best = gate;
        bestEstimate = estimate;
        bestCost = cost;
      }
    }
    return best;
  }

  /**
   * Gates are chosen from the item population at the time, so selectors that arrive before the
   * items (the usual start-of-day order) start with arbitrary gates. Re-choosing every gate each
   * time the population doubles keeps them selective at amortised constant cost per item.
   * Matches are unaffected; only the filing changes.
   */
  #regateIfGrown(): void {
    const n = this.#items.size;
    if (n < 2 * this.#itemsAtLastGating + REGATE_MIN_ITEMS) return;
    this.#itemsAtLastGating = n;
    for (const entry of this.#selectors.values()) {
      const gate = this.#chooseGate(entry.selector);
      if (gate === entry.gate) continue;
      this.#unregister(entry);
      entry.gate = gate;
      this.#register(entry);
    }
  }

  #forEachGateCandidate(
    gate: Gate | undefined,
    visit: (item: ItemEntry<ItemId, SelId, ParentId>) => void,
  ): void {
    if (!gate) {
      for (const item of this.#items.values()) visit(item);
      return;
    }
    for (const p of gate) {
      const byValue = this.#itemsByLabel.get(p.key);
      if (!byValue) continue;
      if (p.values) {
        for (const v of p.values) byValue.get(v)?.forEach(visit);
      } else {
        for (const items of byValue.values()) items.forEach(visit);
      }
    }
  }

  #register(entry: SelectorEntry<SelId, ItemId>): void {
    // A selector that can never match needs no re-testing at all.
    if (entry.gate?.length === 0) return;
    this.#all.add(entry);
    for (const key of entry.selector.labelKeys()) {
      let readers = this.#readers.get(key);
      if (!readers) {
        readers = new GateBuckets();
        this.#readers.set(key, readers);
      }
      readers.add(entry);
    }
  }

  #unregister(entry: SelectorEntry<SelId, ItemId>): void {
    if (entry.gate?.length === 0) return;
    this.#all.delete(entry);
    for (const key of entry.selector.labelKeys()) {
      const readers = this.#readers.get(key)!;
      readers.delete(entry);
      if (readers.size === 0) this.#readers.delete(key);
    }
  }

  // ---- internals: items and parents ----

  #parentEntry(id: ParentId): ParentEntry<ItemId> {
    let parent = this.#parents.get(id);
    if (!parent) {
      parent = { labels: undefined, children: new Set() };
      this.#parents.set(id, parent);
    }
    return parent;
  }

  #unlinkParent(id: ParentId, child: ItemId): void {
    const parent = this.#parents.get(id);
    if (!parent) return;
    parent.children.delete(child);
    if (parent.children.size === 0 && parent.labels === undefined) this.#parents.delete(id);
  }

  #relabelChildren(parent: ParentEntry<ItemId>): void {
    for (const child of parent.children) {
      const item = this.#items.get(child)!;
      this.#relabel(item, this.#effectiveLabels(item));
    }
  }

  #effectiveLabels(item: ItemEntry<ItemId, SelId, ParentId>): ReadonlyMap<string, string> {
    if (item.parents.length === 0) return item.own;
    const merged = new Map<string, string>();
    // Later writes win, so walk from the last parent to the first and finish with own labels.
    for (let i = item.parents.length - 1; i >= 0; i--) {
      const labels = this.#parents.get(item.parents[i]!)?.labels;
      if (labels) for (const [k, v] of labels) merged.set(k, v);
    }
    for (const [k, v] of item.own) merged.set(k, v);
    return merged;
  }

  #indexItemLabel(item: ItemEntry<ItemId, SelId, ParentId>, key: string, value: string): void {
    addToNested(this.#itemsByLabel, key, value, item);
    this.#itemCountByKey.set(key, (this.#itemCountByKey.get(key) ?? 0) + 1);
  }

  #unindexItemLabel(item: ItemEntry<ItemId, SelId, ParentId>, key: string, value: string): void {
    removeFromNested(this.#itemsByLabel, key, value, item);
    const n = (this.#itemCountByKey.get(key) ?? 1) - 1;
    if (n === 0) this.#itemCountByKey.delete(key);
    else this.#itemCountByKey.set(key, n);
  }

  /**
   * Installs new effective labels and re-tests the selectors the difference can affect. A
   * `fresh` item has never been tested, so even selectors reading none of its labels (`all()`,
   * `!has(x)`) must see it once.
   */
  #relabel(
    item: ItemEntry<ItemId, SelId, ParentId>,
    labels: ReadonlyMap<string, string>,
    fresh = false,
  ): void {
    const old = item.labels;
    const changed: string[] = [];
    for (const [k, v] of old) if (labels.get(k) !== v) changed.push(k);
    for (const k of labels.keys()) if (!old.has(k)) changed.push(k);
    item.labels = labels;
    if (changed.length === 0 && !fresh) return;
    for (const k of changed) {
      const before = old.get(k);
      const after = labels.get(k);
      if (before !== undefined) this.#unindexItemLabel(item, k, before);
      if (after !== undefined) this.#indexItemLabel(item, k, after);
    }

    const pass = ++this.#pass;
    const retest = (entry: SelectorEntry<SelId, ItemId>) => {
      if (entry.seen === pass) return;
      entry.seen = pass;
      this.#retest(item, entry);
    };
    if (fresh) {
      this.#all.forEachMet(labels, labels, retest);
      return;
    }
    for (const k of changed) this.#readers.get(k)?.forEachMet(old, labels, retest);
  }

  #retest(item: ItemEntry<ItemId, SelId, ParentId>, entry: SelectorEntry<SelId, ItemId>): void {
    const now = entry.evaluate(item.labels);
    // The item's own match set is small and already in cache; the selector's may be huge.
    if (now === item.matches.has(entry.id)) return;
    if (now) {
      entry.matches.add(item.id);
      item.matches.add(entry.id);
      this.onMatchStarted(entry.id, item.id);
    } else {
      entry.matches.delete(item.id);
      item.matches.delete(entry.id);
      this.onMatchStopped(entry.id, item.id);
    }
  }
}
