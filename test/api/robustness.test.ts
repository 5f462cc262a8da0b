import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyDefaults,
  canonicalize,
  findUnknownFields,
  type Resource,
  validate,
} from "../../src/api/index.js";
import { samples } from "./samples.js";

/** Replaces the value at a random path inside `value` with `junk`. */
function corrupt(value: unknown, path: number[], junk: unknown): unknown {
  if (path.length === 0) return junk;
  if (Array.isArray(value) && value.length > 0) {
    const i = path[0]! % value.length;
    return value.map((v, j) => (j === i ? corrupt(v, path.slice(1), junk) : v));
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0) return junk;
    const key = keys[path[0]! % keys.length]!;
    return { ...value, [key]: corrupt((value as Record<string, unknown>)[key], path.slice(1), junk) };
  }
  return junk;
}

const kinds = Object.keys(samples);

describe("robustness", () => {
  it("never throws on samples with arbitrary values planted anywhere", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.jsonValue({ maxDepth: 3 }),
        (kind, path, junk) => {
          const broken = corrupt(samples[kind], path, junk) as Resource;
          const errors = validate(broken);
          expect(Array.isArray(errors)).toBe(true);
          validate(applyDefaults(broken));
          canonicalize(broken);
          findUnknownFields(broken);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("treats a kind named like an Object.prototype member as unknown", () => {
    for (const kind of ["valueOf", "toString", "constructor", "hasOwnProperty", "__proto__"]) {
      const r = { apiVersion: "projectcalico.org/v3", kind, metadata: { name: "x" }, spec: {} } as Resource;
      expect(validate(r).length).toBeGreaterThan(0);
      expect(() => validate(applyDefaults(r))).not.toThrow();
      expect(() => canonicalize(r)).not.toThrow();
      expect(() => findUnknownFields(r)).not.toThrow();
    }
  });

  it("never throws on arbitrary JSON documents", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
        (kind, rest) => {
          const doc = { ...rest, apiVersion: "projectcalico.org/v3", kind } as unknown as Resource;
          validate(doc);
          validate(applyDefaults(doc));
          canonicalize(doc);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("canonical form is stable and keeps valid resources valid", () => {
    for (const sample of Object.values(samples)) {
      const once = canonicalize(applyDefaults(sample));
      expect(canonicalize(once)).toEqual(once);
      expect(validate(once)).toEqual([]);
    }
  });
});
