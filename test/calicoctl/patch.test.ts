/** Patch documents: strategic (merge with directives), RFC 7386 merge and RFC 6902 json. */
import { describe, expect, it } from "vitest";
import { applyPatch, PatchError } from "../../src/calicoctl/patch/apply-patch.js";

const target = { metadata: { labels: { a: "1", b: "2" } }, spec: { nets: ["1.0.0.0/8"], order: 5 } };

describe("applyPatch", () => {
  it("merges maps, replaces lists and removes nulls", () => {
    expect(
      applyPatch(
        target,
        '{"metadata":{"labels":{"b":null,"c":"3"}},"spec":{"nets":["2.0.0.0/8"]}}',
        "strategic",
      ),
    ).toEqual({ metadata: { labels: { a: "1", c: "3" } }, spec: { nets: ["2.0.0.0/8"], order: 5 } });
    expect(target.metadata.labels).toEqual({ a: "1", b: "2" });
  });

  it("honours $patch directives only in strategic patches", () => {
    expect(
      applyPatch(target, '{"metadata":{"labels":{"$patch":"replace","z":"9"}}}', "strategic"),
    ).toMatchObject({
      metadata: { labels: { z: "9" } },
    });
    expect(applyPatch(target, '{"spec":{"$patch":"delete"}}', "strategic")).toEqual({
      metadata: target.metadata,
    });
    expect(applyPatch(target, '{"spec":{"$patch":"delete"}}', "merge")).toMatchObject({
      spec: { $patch: "delete" },
    });
  });

  it("applies json patch operations in order", () => {
    const out = applyPatch(
      target,
      '[{"op":"add","path":"/spec/nets/-","value":"3.0.0.0/8"},{"op":"remove","path":"/metadata/labels/a"},' +
        '{"op":"test","path":"/spec/order","value":5},{"op":"move","from":"/spec/order","path":"/spec/rank"}]',
      "json",
    );
    expect(out).toEqual({
      metadata: { labels: { b: "2" } },
      spec: { nets: ["1.0.0.0/8", "3.0.0.0/8"], rank: 5 },
    });
    expect(() => applyPatch(target, '[{"op":"test","path":"/spec/order","value":6}]', "json")).toThrow(
      PatchError,
    );
    expect(() => applyPatch(target, '[{"op":"remove","path":"/nope/x"}]', "json")).toThrow(PatchError);
  });

  it("rejects malformed patches", () => {
    expect(() => applyPatch(target, "{nope", "strategic")).toThrow(SyntaxError);
    expect(() => applyPatch(target, "[]", "strategic")).toThrow(
      "a strategic merge patch must be a JSON object",
    );
  });
});
