/**
 * A deterministic PRNG for tests and benchmarks, yielding numbers in [0, 1): the same seed gives
 * the same workload, so runs are comparable and failures reproducible.
 */
import { mulberry32 } from "../../src/lib/prng.js";

export function prng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}
