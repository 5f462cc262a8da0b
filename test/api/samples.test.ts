import { describe, expect, it } from "vitest";
import { applyDefaults, findUnknownFields, KINDS, validate } from "../../src/api/index.js";
import { samples } from "./samples.js";

describe("a valid sample of every kind", () => {
  it("covers every kind in the catalogue", () => {
    expect(Object.keys(samples).sort()).toEqual(KINDS.map((k) => k.kind).sort());
  });

  for (const [kind, sample] of Object.entries(samples)) {
    it(`${kind} passes validation once defaulted`, () => {
      expect(validate(applyDefaults(sample))).toEqual([]);
    });

    it(`${kind} has no unknown fields`, () => {
      expect(findUnknownFields(sample)).toEqual([]);
    });

    it(`${kind} defaults are idempotent`, () => {
      const once = applyDefaults(sample);
      expect(applyDefaults(once)).toEqual(once);
    });
  }
});
