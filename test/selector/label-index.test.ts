import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { printNode } from "../../src/selector/ast.js";
import { LabelIndex, type LabelLookup, parseSelector, type Selector } from "../../src/selector/index.js";
import { treeArb } from "./arbitraries.js";

/** Records callbacks as a set of "sel|item" pairs, failing on a duplicate start or stray stop. */
class Recorder {
  readonly pairs = new Set<string>();
  readonly events: string[] = [];
  readonly index = new LabelIndex<string, string>(
    (s, i) => {
      const key = `${s}|${i}`;
      if (this.pairs.has(key)) throw new Error(`duplicate start ${key}`);
      this.pairs.add(key);
      this.events.push(`+${key}`);
    },
    (s, i) => {
      const key = `${s}|${i}`;
      if (!this.pairs.delete(key)) throw new Error(`stop without start ${key}`);
      this.events.push(`-${key}`);
    },
  );

  drain(): string[] {
    return this.events.splice(0).sort();
  }
}

/** A selector whose evaluations are counted, to check how much work an update does. */
function counted(text: string): { selector: Selector; calls: () => number } {
  const selector = parseSelector(text);
  const inner = selector.evaluate;
  let n = 0;
  Object.defineProperty(selector, "evaluate", {
    value: (labels: LabelLookup) => {
      n++;
      return inner(labels);
    },
  });
  return { selector, calls: () => n };
}

describe("LabelIndex", () => {
  it("reports matches as selectors and items come and go", () => {
    const r = new Recorder();
    r.index.updateSelector("s1", "app == 'web'");
    r.index.updateLabels("e1", { app: "web" });
    r.index.updateLabels("e2", { app: "db" });
    expect(r.drain()).toEqual(["+s1|e1"]);

    r.index.updateSelector("s2", "has(app)");
    expect(r.drain()).toEqual(["+s2|e1", "+s2|e2"]);

    r.index.updateLabels("e2", { app: "web" });
    expect(r.drain()).toEqual(["+s1|e2"]);
    expect([...r.index.itemsMatching("s1")].sort()).toEqual(["e1", "e2"]);
    expect([...r.index.selectorsMatching("e1")].sort()).toEqual(["s1", "s2"]);
    expect(r.index.isMatch("s1", "e2")).toBe(true);

    r.index.deleteLabels("e1");
    expect(r.drain()).toEqual(["-s1|e1", "-s2|e1"]);
    r.index.deleteSelector("s2");
    expect(r.drain()).toEqual(["-s2|e2"]);
    expect(r.index.selectorsMatching("e1").size).toBe(0);
    expect(r.index.itemsMatching("nope").size).toBe(0);
  });

  it("matches items without labels against selectors that read no present label", () => {
    const r = new Recorder();
    r.index.updateSelector("all", "all()");
    r.index.updateSelector("not", "!has(x)");
    r.index.updateSelector("ne", "x != 'y'");
    r.index.updateSelector("has", "has(x)");
    r.index.updateLabels("e", {});
    expect(r.drain()).toEqual(["+all|e", "+ne|e", "+not|e"]);
    r.index.updateLabels("e", { x: "y" });
    expect(r.drain()).toEqual(["+has|e", "-ne|e", "-not|e"]);
  });

  it("reports only the difference when a selector is replaced, and nothing for an equal one", () => {
    const r = new Recorder();
    r.index.updateLabels("e1", { a: "1" });
    r.index.updateLabels("e2", { a: "2" });
    r.index.updateLabels("e3", { a: "3" });
    r.index.updateSelector("s", "a in {'1', '2'}");
    expect(r.drain()).toEqual(["+s|e1", "+s|e2"]);
    r.index.updateSelector("s", "a in {'2', '3'}");
    expect(r.drain()).toEqual(["+s|e3", "-s|e1"]);
    r.index.updateSelector("s", "a in {\"3\",'2'}");
    expect(r.drain()).toEqual([]);
    expect(r.index.getSelector("s")?.toString()).toBe('a in {"2", "3"}');
  });

  it("never re-tests a selector that cannot match", () => {
    const r = new Recorder();
    const never = counted("a in {} && b == 'x'");
    r.index.updateSelector("never", never.selector);
    r.index.updateLabels("e", { a: "", b: "x" });
    r.index.updateLabels("e", { a: "z", b: "x" });
    expect(never.calls()).toBe(0);
    expect(r.drain()).toEqual([]);
  });

  it("inherits parent labels: own labels win, earlier parents win over later ones", () => {
    const r = new Recorder();
    r.index.updateParentLabels("p1", { ns: "prod", tier: "p1" });
    r.index.updateParentLabels("p2", { tier: "p2", extra: "yes" });
    r.index.updateLabels("e", { own: "1", ns: "mine" }, ["p1", "p2"]);
    expect(Object.fromEntries(r.index.effectiveLabels("e")!)).toEqual({
      own: "1",
      ns: "mine",
      tier: "p1",
      extra: "yes",
    });
    r.index.updateLabels("e", { own: "1" }, ["p2", "p1"]);
    expect(r.index.effectiveLabels("e")!.get("tier")).toBe("p2");
    expect(r.index.effectiveLabels("e")!.get("ns")).toBe("prod");
  });

  it("applies parent changes to its children only, including parents defined after the item", () => {
    const r = new Recorder();
    const sel = counted("pcns.team == 'blue'");
    r.index.updateSelector("blue", sel.selector);
    for (let i = 0; i < 50; i++) r.index.updateLabels(`other${i}`, { "pcns.team": "blue" });
    r.index.updateLabels("e1", { app: "x" }, ["kns.a"]);
    r.index.updateLabels("e2", { app: "y" }, ["kns.a", "kns.b"]);
    r.index.updateLabels("e3", { app: "z" }, ["kns.b"]);
    r.drain();

    const before = sel.calls();
    r.index.updateParentLabels("kns.a", { "pcns.team": "blue" });
    expect(r.drain()).toEqual(["+blue|e1", "+blue|e2"]);
    expect(sel.calls() - before).toBe(2);

    r.index.updateParentLabels("kns.b", { "pcns.team": "red" });
    expect(r.drain()).toEqual([]);
    r.index.updateLabels("e2", { app: "y" }, ["kns.b", "kns.a"]);
    expect(r.drain()).toEqual(["-blue|e2"]);

    const beforeResend = sel.calls();
    r.index.updateParentLabels("kns.a", new Map([["pcns.team", "blue"]]));
    r.index.updateLabels("e1", { app: "x" }, ["kns.a"]);
    expect(sel.calls()).toBe(beforeResend);

    r.index.deleteParentLabels("kns.a");
    expect(r.drain()).toEqual(["-blue|e1"]);
    r.index.updateParentLabels("kns.a", { "pcns.team": "blue" });
    expect(r.drain()).toEqual(["+blue|e1"]);
  });

  it("re-tests only selectors that read a changed label", () => {
    const r = new Recorder();
    const readers = Array.from({ length: 20 }, (_, i) => counted(`app == 'a${i}' || role != 'x'`));
    const others = Array.from({ length: 200 }, (_, i) => counted(`team == 't${i}' && has(zone)`));
    readers.forEach((c, i) => {
      r.index.updateSelector(`r${i}`, c.selector);
    });
    others.forEach((c, i) => {
      r.index.updateSelector(`o${i}`, c.selector);
    });
    for (let i = 0; i < 100; i++)
      r.index.updateLabels(`e${i}`, { app: `a${i % 20}`, team: `t${i}`, zone: "z" });
    const total = () => [...readers, ...others].reduce((n, c) => n + c.calls(), 0);

    const start = total();
    r.index.updateLabels("e5", { app: "a6", team: "t5", zone: "z" });
    expect(total() - start).toBe(readers.length);
    expect(r.index.isMatch("r6", "e5")).toBe(true);

    // A selector gated on `team` values is skipped when `team` moves between values it ignores.
    const mid = total();
    r.index.updateLabels("e5", { app: "a6", team: "nobody", zone: "z" });
    expect(total() - mid).toBe(1);
    expect(r.index.isMatch("o5", "e5")).toBe(false);
  });

  it("tests a new item only against selectors whose gate it meets", () => {
    const r = new Recorder();
    const sels = Array.from({ length: 300 }, (_, i) => counted(`ns == 'n${i}' && app == 'web'`));
    sels.forEach((c, i) => {
      r.index.updateSelector(`s${i}`, c.selector);
    });
    const ungated = counted("!has(quarantine)");
    r.index.updateSelector("open", ungated.selector);
    const total = () => sels.reduce((n, c) => n + c.calls(), 0);
    r.index.updateLabels("e", { ns: "n7", app: "web" });
    expect(total()).toBe(1);
    expect(ungated.calls()).toBe(1);
    expect(r.drain()).toEqual(["+open|e", "+s7|e"]);
  });

  it("tests a new selector only against items meeting its gate", () => {
    const r = new Recorder();
    for (let i = 0; i < 500; i++) r.index.updateLabels(`e${i}`, { ns: `n${i % 50}`, app: `a${i}` });
    const sel = counted("app == 'a7' && ns == 'n7'");
    r.index.updateSelector("s", sel.selector);
    expect(sel.calls()).toBe(1);
    const wide = counted("ns in {'n1', 'n2'}");
    r.index.updateSelector("w", wide.selector);
    expect(wide.calls()).toBe(20);
    expect(r.index.itemsMatching("w").size).toBe(20);
  });

  it("re-tests only the readers of a changed key whose gate the item meets", () => {
    const r = new Recorder();
    // 100 selectors gated on `ns` that all read `app`: the item meets the gate of just one.
    const sels = Array.from({ length: 100 }, (_, i) => counted(`ns == 'n${i}' && app != 'x'`));
    sels.forEach((c, i) => {
      r.index.updateSelector(`s${i}`, c.selector);
    });
    r.index.updateLabels("e", { ns: "n3", app: "y" });
    expect(r.drain()).toEqual(["+s3|e"]);
    const before = sels.reduce((n, c) => n + c.calls(), 0);
    r.index.updateLabels("e", { ns: "n3", app: "x" });
    expect(sels.reduce((n, c) => n + c.calls(), 0) - before).toBe(1);
    expect(r.drain()).toEqual(["-s3|e"]);
    // Moving between gates re-tests the old gate's selectors too, so stale matches are dropped.
    r.index.updateLabels("e", { ns: "n3", app: "y" });
    r.index.updateLabels("e", { ns: "n4", app: "z" });
    expect(r.drain()).toEqual(["+s3|e", "+s4|e", "-s3|e"]);
  });

  it("re-chooses gates as items arrive after the selectors", () => {
    const r = new Recorder();
    // With no items yet, both terms look equally selective and the first (`env`) is chosen.
    const sels = Array.from({ length: 50 }, (_, i) => counted(`env == 'prod' && app == 'a${i}'`));
    sels.forEach((c, i) => {
      r.index.updateSelector(`s${i}`, c.selector);
    });
    for (let i = 0; i < 500; i++) r.index.updateLabels(`e${i}`, { env: "prod", app: `a${i % 50}` });
    expect(r.pairs.size).toBe(500);
    r.drain();
    const before = sels.reduce((n, c) => n + c.calls(), 0);
    r.index.updateLabels("e0", { env: "prod", app: "a1" });
    // Gated on `app` now: only the old and new app's selectors are re-tested, not all 50.
    expect(sels.reduce((n, c) => n + c.calls(), 0) - before).toBe(2);
    expect(r.drain()).toEqual(["+s1|e0", "-s0|e0"]);
  });

  it("treats label keys that look like Object.prototype members as ordinary labels", () => {
    const r = new Recorder();
    r.index.updateSelector("s", "has(constructor) || toString == 'x'");
    r.index.updateLabels("e1", {});
    r.index.updateLabels("e2", { toString: "x" });
    expect(r.drain()).toEqual(["+s|e2"]);
    r.index.updateLabels("e3", new Map([["constructor", ""]]));
    expect(r.drain()).toEqual(["+s|e3"]);
  });
});

// ---- property: the index agrees with brute force after any sequence of updates ----

const ITEMS = ["i0", "i1", "i2", "i3", "i4"];
const PARENTS = ["p0", "p1", "p2"];
const SELS = ["s0", "s1", "s2", "s3"];

type Op =
  | { op: "labels"; id: string; labels: Record<string, string>; parents: string[] }
  | { op: "deleteLabels"; id: string }
  | { op: "parent"; id: string; labels: Record<string, string> }
  | { op: "deleteParent"; id: string }
  | { op: "selector"; id: string; text: string }
  | { op: "deleteSelector"; id: string };

const KEYS = ["a", "b", "c"];
const smallValues = fc.constantFrom("x", "y", "");
const smallLabels = fc.dictionary(fc.constantFrom(...KEYS), smallValues, { maxKeys: 3 });
const smallTree = treeArb(KEYS, smallValues);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant("labels" as const),
      id: fc.constantFrom(...ITEMS),
      labels: smallLabels,
      parents: fc.subarray(PARENTS).chain((ps) => fc.shuffledSubarray(ps, { minLength: ps.length })),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ op: fc.constant("deleteLabels" as const), id: fc.constantFrom(...ITEMS) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("parent" as const),
      id: fc.constantFrom(...PARENTS),
      labels: smallLabels,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ op: fc.constant("deleteParent" as const), id: fc.constantFrom(...PARENTS) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("selector" as const),
      id: fc.constantFrom(...SELS),
      text: smallTree.map(printNode),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ op: fc.constant("deleteSelector" as const), id: fc.constantFrom(...SELS) }),
    weight: 1,
  },
);

/** Independent model: plain objects, effective labels rebuilt from scratch every time. */
class Model {
  items = new Map<string, { labels: Record<string, string>; parents: string[] }>();
  parents = new Map<string, Record<string, string>>();
  selectors = new Map<string, Selector>();

  apply(o: Op): void {
    if (o.op === "labels") this.items.set(o.id, { labels: o.labels, parents: o.parents });
    else if (o.op === "deleteLabels") this.items.delete(o.id);
    else if (o.op === "parent") this.parents.set(o.id, o.labels);
    else if (o.op === "deleteParent") this.parents.delete(o.id);
    else if (o.op === "selector") this.selectors.set(o.id, parseSelector(o.text));
    else this.selectors.delete(o.id);
  }

  effective(id: string): Record<string, string> {
    const item = this.items.get(id)!;
    const out: Record<string, string> = {};
    for (const p of item.parents) {
      for (const [k, v] of Object.entries(this.parents.get(p) ?? {})) if (!(k in out)) out[k] = v;
    }
    return { ...out, ...item.labels };
  }

  pairs(): Set<string> {
    const out = new Set<string>();
    for (const [s, sel] of this.selectors) {
      for (const i of this.items.keys()) if (sel.matches(this.effective(i))) out.add(`${s}|${i}`);
    }
    return out;
  }
}

function applyToIndex(index: LabelIndex<string, string>, o: Op): void {
  if (o.op === "labels") index.updateLabels(o.id, o.labels, o.parents);
  else if (o.op === "deleteLabels") index.deleteLabels(o.id);
  else if (o.op === "parent") index.updateParentLabels(o.id, o.labels);
  else if (o.op === "deleteParent") index.deleteParentLabels(o.id);
  else if (o.op === "selector") index.updateSelector(o.id, o.text);
  else index.deleteSelector(o.id);
}

function checkAgainstModel(r: Recorder, model: Model): void {
  const expected = model.pairs();
  expect([...r.pairs].sort()).toEqual([...expected].sort());
  for (const s of SELS) {
    expect([...r.index.itemsMatching(s)].sort()).toEqual(ITEMS.filter((i) => expected.has(`${s}|${i}`)));
  }
  for (const i of ITEMS) {
    expect([...r.index.selectorsMatching(i)].sort()).toEqual(SELS.filter((s) => expected.has(`${s}|${i}`)));
    if (model.items.has(i)) {
      expect(Object.fromEntries(r.index.effectiveLabels(i)!)).toEqual(model.effective(i));
    } else {
      expect(r.index.effectiveLabels(i)).toBeUndefined();
    }
  }
}

describe("LabelIndex agrees with brute force", () => {
  it("after every step of a random update sequence", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const r = new Recorder();
        const model = new Model();
        for (const o of ops) {
          applyToIndex(r.index, o);
          model.apply(o);
          checkAgainstModel(r, model);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("with enough items to trigger re-gating", () => {
    const itemArb = fc.record({ id: fc.integer({ min: 0, max: 199 }), labels: smallLabels });
    fc.assert(
      fc.property(
        fc.array(smallTree, { minLength: 10, maxLength: 30 }),
        fc.array(itemArb, { minLength: 100, maxLength: 400 }),
        (trees, updates) => {
          const r = new Recorder();
          const model = new Model();
          trees.forEach((t, n) => {
            const text = printNode(t);
            r.index.updateSelector(`s${n}`, text);
            model.apply({ op: "selector", id: `s${n}`, text });
          });
          const apply = (o: Op) => {
            applyToIndex(r.index, o);
            model.apply(o);
          };
          for (const u of updates) apply({ op: "labels", id: `i${u.id}`, labels: u.labels, parents: [] });
          expect([...r.pairs].sort()).toEqual([...model.pairs()].sort());
          // Selectors removed after re-gating must be gone from every bucket they were filed in.
          trees.forEach((_, n) => {
            if (n % 2 === 0) apply({ op: "deleteSelector", id: `s${n}` });
          });
          for (const u of updates.slice(0, 50))
            apply({ op: "labels", id: `i${u.id + 200}`, labels: u.labels, parents: [] });
          expect([...r.pairs].sort()).toEqual([...model.pairs()].sort());
        },
      ),
      { numRuns: 20 },
    );
  });

  it("with many selectors reading the same keys under another key's gate", () => {
    const manyArb = fc.array(smallTree, { minLength: 70, maxLength: 90 });
    const gArb = fc.constantFrom("0", "1", "2");
    fc.assert(
      fc.property(manyArb, fc.array(fc.tuple(opArb, gArb), { maxLength: 25 }), (trees, ops) => {
        const r = new Recorder();
        const model = new Model();
        // Gated on `g` first, so most of these read a/b/c without being gated on them.
        trees.forEach((t, n) => {
          const text = `g == '${n % 3}' && ${printNode(t)}`;
          r.index.updateSelector(`bulk${n}`, text);
          model.apply({ op: "selector", id: `bulk${n}`, text });
        });
        for (const [o, g] of ops) {
          // `g` varies too, so items move between gates and old matches must be dropped.
          const withG = o.op === "labels" ? { ...o, labels: { ...o.labels, g } } : o;
          applyToIndex(r.index, withG);
          model.apply(withG);
        }
        expect([...r.pairs].sort()).toEqual([...model.pairs()].sort());
      }),
      { numRuns: 60 },
    );
  });
});
