/**
 * Benchmark helpers. Every figure is printed beside a baseline measured in the same run on the
 * same machine, so the ratio means something even when the machine's speed varies.
 */

export interface Figure {
  /** What was measured, e.g. `selector eval (4-term &&)`. */
  name: string;
  value: number;
  /** Unit of `value`, e.g. `ops/s`, `ms`, `µs/op`. */
  unit: string;
  /** Baseline measured in the same run, in the same unit. */
  baseline: { name: string; value: number };
  /** Optional goal, printed for the reader (e.g. `< 1000 µs`). */
  goal?: string;
}

export interface BenchModule {
  title: string;
  run(): Promise<Figure[]>;
}

/** Runs `fn` repeatedly for about `ms` milliseconds and returns operations per second. */
export function opsPerSecond(fn: () => void, ms = 500): number {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (n / elapsed) * 1000;
}

/** Median and p99 of a list of samples. */
export function percentiles(samples: number[]): { median: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  return { median: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
}

export function formatFigure(f: Figure): string {
  const ratio = f.baseline.value === 0 ? Number.NaN : f.value / f.baseline.value;
  const num = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
  const goal = f.goal ? `  goal ${f.goal}` : "";
  return `  ${f.name.padEnd(58)} ${num(f.value).padStart(12)} ${f.unit.padEnd(7)} | baseline ${f.baseline.name}: ${num(f.baseline.value)} ${f.unit}  ratio ${ratio.toFixed(3)}${goal}`;
}
