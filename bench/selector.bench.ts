/**
 * Selector evaluation speed and label-index update costs at Felix scale (10,000 endpoints,
 * 1,000 selectors). Every figure has a naive baseline measured in the same run.
 */
import { LabelIndex, type LabelLookup, parseSelector } from "../src/selector/index.js";
import { prng } from "../test/support/prng.js";
import { type BenchModule, type Figure, opsPerSecond, percentiles } from "./lib.js";

const ITEMS = 10_000;
const SELECTORS = 1_000;
const NAMESPACES = 20;
const APPS = 200;
const TIERS = ["fe", "be", "db"];
const NS_KEY = "projectcalico.org/namespace";

interface Item {
  id: string;
  labels: Record<string, string>;
  parents: string[];
}

function makeItems(rnd: () => number): Item[] {
  const int = (n: number) => Math.floor(rnd() * n);
  return Array.from({ length: ITEMS }, (_, i) => {
    const ns = int(NAMESPACES);
    return {
      id: `wep${i}`,
      labels: {
        [NS_KEY]: `ns${ns}`,
        "projectcalico.org/orchestrator": "k8s",
        "projectcalico.org/serviceaccount": "default",
        app: `app${int(APPS)}`,
        tier: TIERS[int(3)]!,
        version: `v${int(5)}`,
        zone: `z${int(3)}`,
        "pod-template-hash": `h${int(100_000)}`,
      },
      parents: [`kns.ns${ns}`, `ksa.ns${ns}.default`],
    };
  });
}

function parentLabels(ns: number): Record<string, string> {
  return {
    "pcns.projectcalico.org/name": `ns${ns}`,
    "pcns.env": ["prod", "dev", "staging"][ns % 3]!,
  };
}

/** A mix shaped like rewritten policy selectors; about 2% have no usable gate. */
function makeSelectors(rnd: () => number): string[] {
  const int = (n: number) => Math.floor(rnd() * n);
  const ns = () => `'ns${int(NAMESPACES)}'`;
  const app = () => `'app${int(APPS)}'`;
  const shapes: Array<[number, () => string]> = [
    [40, () => `(${NS_KEY} == ${ns()}) && app == ${app()}`],
    [15, () => `(${NS_KEY} == ${ns()}) && tier in {'fe', 'be'}`],
    [10, () => `app in {${app()}, ${app()}, ${app()}}`],
    [10, () => `pcns.env == 'prod' && tier == 'db' && app == ${app()}`],
    [10, () => `(${NS_KEY} == ${ns()}) && has(app) && version != 'v${int(5)}'`],
    [8, () => `app starts with 'app${int(20)}' && zone == 'z${int(3)}'`],
    [5, () => `!has(quarantine) && tier == '${TIERS[int(3)]}' && version == 'v${int(5)}'`],
    [2, () => `version not in {'v${int(5)}'} && zone != 'z${int(3)}'`],
  ];
  const total = shapes.reduce((n, [w]) => n + w, 0);
  return Array.from({ length: SELECTORS }, () => {
    let pick = rnd() * total;
    for (const [w, make] of shapes) {
      pick -= w;
      if (pick < 0) return make();
    }
    return shapes[0]![1]();
  });
}

function buildIndex(items: Item[], selectors: string[], selectorsFirst: boolean) {
  let matches = 0;
  const index = new LabelIndex<string, number>(
    () => {
      matches++;
    },
    () => {
      matches--;
    },
  );
  const loadSelectors = () => {
    for (const [i, s] of selectors.entries()) index.updateSelector(i, s);
  };
  const loadItems = () => {
    for (let ns = 0; ns < NAMESPACES; ns++) index.updateParentLabels(`kns.ns${ns}`, parentLabels(ns));
    for (const it of items) index.updateLabels(it.id, it.labels, it.parents);
  };
  const start = performance.now();
  if (selectorsFirst) {
    loadSelectors();
    loadItems();
  } else {
    loadItems();
    loadSelectors();
  }
  return { index, ms: performance.now() - start, matches: () => matches };
}

/** Mean µs per call of `fn` over `n` calls, after a warm-up. */
function microsPerOp(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 1000); i++) fn(i);
  const start = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return ((performance.now() - start) * 1000) / n;
}

function evaluationFigures(items: Item[]): Figure[] {
  const maps = items.slice(0, 1000).map((it) => new Map(Object.entries(it.labels)));
  const cases: Array<[string, string, (l: LabelLookup) => boolean]> = [
    [
      "2-term && (namespace, app)",
      `${NS_KEY} == 'ns3' && app == 'app17'`,
      (l) => l.get(NS_KEY) === "ns3" && l.get("app") === "app17",
    ],
    [
      "in-set || !=",
      "app in {'app1', 'app2', 'app3'} || tier != 'db'",
      (l) => {
        const a = l.get("app");
        return a === "app1" || a === "app2" || a === "app3" || l.get("tier") !== "db";
      },
    ],
    [
      "has && !has && not in",
      "(has(app) && !has(quarantine)) && version not in {'v1', 'v2'}",
      (l) => {
        if (l.get("app") === undefined || l.get("quarantine") !== undefined) return false;
        const v = l.get("version");
        return v !== "v1" && v !== "v2";
      },
    ],
    [
      "starts with && ends with",
      "app starts with 'app1' && zone ends with '1'",
      (l) => (l.get("app")?.startsWith("app1") ?? false) && (l.get("zone")?.endsWith("1") ?? false),
    ],
  ];
  const figures: Figure[] = [];
  let sink = 0;
  for (const [name, text, handWritten] of cases) {
    const sel = parseSelector(text);
    let i = 0;
    const compiled = opsPerSecond(() => {
      if (sel.evaluate(maps[i++ % maps.length]!)) sink++;
    });
    let j = 0;
    const baseline = opsPerSecond(() => {
      if (handWritten(maps[j++ % maps.length]!)) sink++;
    });
    figures.push({
      name: `selector eval: ${name}`,
      value: compiled,
      unit: "ops/s",
      baseline: { name: "hand-written JS predicate", value: baseline },
    });
  }
  // Plain records go through an own-property check so `constructor` is not mistaken for a label.
  const records = items.slice(0, 1000).map((it) => it.labels);
  const sel = parseSelector(cases[0]![1]);
  let k = 0;
  const recordRate = opsPerSecond(() => {
    if (sel.matches(records[k++ % records.length]!)) sink++;
  });
  let m = 0;
  const recordBaseline = opsPerSecond(() => {
    const r = records[m++ % records.length]!;
    if (Object.hasOwn(r, NS_KEY) && r[NS_KEY] === "ns3" && Object.hasOwn(r, "app") && r.app === "app17")
      sink++;
  });
  figures.push({
    name: "selector eval on a plain record: 2-term &&",
    value: recordRate,
    unit: "ops/s",
    baseline: { name: "hand-written record predicate", value: recordBaseline },
  });
  if (sink < 0) console.log(sink);
  return figures;
}

function indexFigures(items: Item[], selectorTexts: string[], rnd: () => number): Figure[] {
  const figures: Figure[] = [];
  const int = (n: number) => Math.floor(rnd() * n);

  const loaded = buildIndex(items, selectorTexts, true);
  const itemsFirst = buildIndex(items, selectorTexts, false);
  if (loaded.matches() !== itemsFirst.matches()) throw new Error("load orders disagree");

  // Brute force at full size: every selector against every item's merged labels.
  const parsed = selectorTexts.map((t) => parseSelector(t));
  const effective = items.map((it) => loaded.index.effectiveLabels(it.id)!);
  const bruteStart = performance.now();
  let bruteMatches = 0;
  for (const sel of parsed) for (const labels of effective) if (sel.evaluate(labels)) bruteMatches++;
  const bruteMs = performance.now() - bruteStart;
  if (bruteMatches !== loaded.matches())
    throw new Error(`index ${loaded.matches()} != brute force ${bruteMatches}`);

  const loadBaseline = { name: "brute force 10k × 1k evaluations", value: bruteMs };
  figures.push(
    {
      name: `initial load, selectors then items (${bruteMatches} matches)`,
      value: loaded.ms,
      unit: "ms",
      baseline: loadBaseline,
      goal: "< 2000 ms",
    },
    {
      name: "initial load, items then selectors",
      value: itemsFirst.ms,
      unit: "ms",
      baseline: loadBaseline,
      goal: "< 2000 ms",
    },
  );

  // The naive alternative to an index: re-test all 1,000 selectors against the changed item.
  const naive = microsPerOp(5000, (i) => {
    const labels = effective[i % effective.length]!;
    for (const sel of parsed) sel.evaluate(labels);
  });
  const naiveBaseline = { name: "evaluate all 1,000 selectors on one item", value: naive };

  const { index } = loaded;
  // Times the update call alone (not building the new label object), after a warm-up.
  const changeOne = (key: string, value: () => string) => {
    const samples: number[] = [];
    for (let n = 0; n < 21_000; n++) {
      const it = items[int(ITEMS)]!;
      it.labels = { ...it.labels, [key]: value() };
      const t0 = performance.now();
      index.updateLabels(it.id, it.labels, it.parents);
      if (n >= 1000) samples.push((performance.now() - t0) * 1000);
    }
    const { mean, p99 } = percentiles(samples);
    return { micros: mean, p99 };
  };

  const app = changeOne("app", () => `app${int(APPS)}`);
  figures.push(
    {
      name: "index: one label change (app), 10k items × 1k selectors",
      value: app.micros,
      unit: "µs/op",
      baseline: naiveBaseline,
      goal: "< 1000 µs",
    },
    { name: "index: same, p99 of update call alone", value: app.p99, unit: "µs/op", baseline: naiveBaseline },
  );
  const version = changeOne("version", () => `v${int(5)}`);
  figures.push({
    name: "index: one label change (version)",
    value: version.micros,
    unit: "µs/op",
    baseline: naiveBaseline,
    goal: "< 1000 µs",
  });
  // The namespace key is read by most selectors: the worst single-label case.
  const ns = changeOne(NS_KEY, () => `ns${int(NAMESPACES)}`);
  figures.push({
    name: "index: one label change (namespace, read by ~65% of selectors)",
    value: ns.micros,
    unit: "µs/op",
    baseline: naiveBaseline,
    goal: "< 1000 µs",
  });

  // A parent (namespace profile) label change re-tests that parent's ~500 children only.
  const children = items.filter((it) => it.parents[0] === "kns.ns0").length;
  const envs = ["prod", "dev", "staging"];
  const parentMicros = microsPerOp(200, (i) => {
    index.updateParentLabels("kns.ns0", { "pcns.projectcalico.org/name": "ns0", "pcns.env": envs[i % 3]! });
  });
  figures.push({
    name: `index: parent label change (${children} children)`,
    value: parentMicros,
    unit: "µs/op",
    baseline: { name: `evaluate all selectors on ${children} items`, value: naive * children },
  });
  return figures;
}

const bench: BenchModule = {
  title: "selectors: evaluation and label index",
  async run() {
    const rnd = prng(1);
    const items = makeItems(rnd);
    const selectors = makeSelectors(rnd);
    return [...evaluationFigures(items), ...indexFigures(items, selectors, rnd)];
  },
};

export default bench;
