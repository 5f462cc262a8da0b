/**
 * The block codec's fast paths against their references: parseBigJson (V8's JSON.parse with long
 * integers wrapped) must give exactly what the character-by-character parser gives, or reject the
 * same texts; encodeBlock (JSON.stringify plus hand-written sequence numbers) must give exactly
 * the text stringifyBigJson gives for the same block, except that the sequence-number map is in
 * Go's key order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BigJsonValue, parseBigJson, parseExact, stringifyBigJson } from "../../src/ipam/bigjson.js";
import {
  type AllocationBlock,
  allocateFromBlock,
  decodeBlock,
  encodeBlock,
  garbageCollect,
  newBlock,
  releaseOrdinals,
} from "../../src/ipam/block.js";
import { parseCIDR } from "../../src/lib/net.js";

/** The same value, or the same refusal. */
function sameParse(text: string): void {
  let want: BigJsonValue | Error;
  try {
    want = parseExact(text);
  } catch (err) {
    want = err as Error;
  }
  if (want instanceof Error) {
    expect(() => parseBigJson(text)).toThrow(want.message);
  } else {
    expect(parseBigJson(text)).toStrictEqual(want);
  }
}

const longInt = fc.bigInt({ min: -(1n << 70n), max: 1n << 70n });
/** JSON values whose numbers include integers of every size, written as bare literals. */
const bigJsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom(null, true, false),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    longInt,
    fc.string(),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string(), tie("value"), { maxKeys: 5 }),
  ),
})).value;

describe("parseBigJson", () => {
  it("agrees with the exact parser on JSON with integers of any size", () => {
    fc.assert(
      fc.property(bigJsonValue, (v) => sameParse(stringifyBigJson(v))),
      { numRuns: 500 },
    );
  });

  it("agrees with the exact parser on damaged text (cuts, splices and noise around long numbers)", () => {
    const piece = fc.constantFrom(
      "12345678901234567890",
      "-98765432109876543210",
      "0012345678901234567",
      "9007199254740993",
      "1000000000000000",
      '"',
      "\\",
      "\\u0000",
      "\\u0031",
      ".5",
      "e10",
      ":",
      ",",
      "{",
      "}",
      "[",
      "]",
      " ",
      "__proto__",
    );
    const damaged = fc
      .tuple(bigJsonValue, fc.array(fc.tuple(fc.nat(), piece), { maxLength: 4 }))
      .map(([v, edits]) => {
        let text = stringifyBigJson(v);
        for (const [at, p] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + p + text.slice(i);
        }
        return text;
      });
    fc.assert(fc.property(damaged, sameParse), { numRuns: 2000 });
  });

  it("keeps the cases that only look like wrapped integers", () => {
    for (const text of [
      '{"a":"\\u000012345678901234567890"}',
      '{"a":"\\u0000\\u00312345678901234567890"}',
      '["\\u0000\\u0031\\u0032\\u0033\\u0034\\u0035\\u0036\\u0037\\u0038\\u0039\\u0030\\u0031\\u0032\\u0033\\u0034\\u0035\\u0036", 12345678901234567890]',
      "{12345678901234567890:1}",
      "[00000000000000000001]",
      "[1.12345678901234567890, 1e12345678901234567890, -12345678901234567890]",
      '{"__proto__":12345678901234567890}',
      '"12345678901234567890"',
      "12345678901234567890",
    ]) {
      sameParse(text);
    }
    const proto = parseBigJson('{"__proto__":12345678901234567890}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(proto, "__proto__")?.value).toBe(12345678901234567890n);
  });
});

const cidr26 = parseCIDR("10.65.79.0/26")!;
const now = new Date("2026-11-22T10:00:00Z");

/** Blocks in every state the allocator leaves them: allocations with and without attributes, cooldown, GC. */
const blocks: fc.Arbitrary<AllocationBlock> = fc
  .record({
    seq: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    affinity: fc.constantFrom("host:node-a", "virtual:lb", null),
    steps: fc.array(
      fc.oneof(
        fc.record({
          num: fc.integer({ min: 1, max: 5 }),
          handle: fc.option(fc.string(), { nil: undefined }),
          attrs: fc.option(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), { nil: undefined }),
        }),
        fc.record({ release: fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 4 }) }),
        fc.constant("gc" as const),
      ),
      { maxLength: 20 },
    ),
  })
  .map(({ seq, affinity, steps }) => {
    const b = newBlock(cidr26, affinity, now, seq);
    for (const step of steps) {
      b.sequenceNumber += 1n;
      if (step === "gc") garbageCollect(b, 0, now);
      else if ("release" in step) releaseOrdinals(b, step.release, now);
      else allocateFromBlock(b, { num: step.num, handleId: step.handle, attrs: step.attrs });
    }
    return b;
  });

/** The encoding as it was: the block object through stringifyBigJson, in Calico's field order. */
function referenceEncoding(b: AllocationBlock): string {
  const seq: Record<string, bigint> = {};
  for (const k of Object.keys(b.sequenceNumberForAllocation).sort()) {
    seq[k] = b.sequenceNumberForAllocation[k] as bigint;
  }
  return stringifyBigJson({
    cidr: "10.65.79.0/26",
    affinity: b.affinity,
    affinity_claim_time: b.affinityClaimTime,
    allocations: b.allocations,
    unallocated: b.unallocated,
    attributes: b.attributes.map((r) => ({
      handle_id: r.handle_id,
      secondary: r.secondary,
      alternateOwnerAttrs: r.alternateOwnerAttrs,
      releasedAt: r.releasedAt,
    })),
    sequenceNumber: b.sequenceNumber,
    sequenceNumberForAllocation: seq,
    deleted: b.deleted,
  });
}

describe("encodeBlock / decodeBlock", () => {
  it("writes exactly the reference encoding and reads it back unchanged", () => {
    fc.assert(
      fc.property(blocks, (b) => {
        const text = encodeBlock(b);
        const reference = referenceEncoding(b);
        const cut = (t: string) => t.indexOf(',"sequenceNumberForAllocation"');
        expect(text.slice(0, cut(text))).toBe(reference.slice(0, cut(reference)));
        expect(parseExact(text)).toStrictEqual(parseExact(reference));
        // Go writes map keys in byte order ("10" before "2"); a JS object would put integer keys first.
        const keys = [...text.slice(cut(text)).matchAll(/"(\d+)":/g)].map((m) => m[1]);
        expect(keys).toEqual([...keys].sort());
        const back = decodeBlock(text);
        expect(back).toStrictEqual(b);
        expect(encodeBlock(back)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps an attribute key named __proto__ as a key (fast-check found it dropped)", () => {
    const text =
      '{"cidr":"10.66.0.0/26","affinity":"host:node-a","allocations":[0,null],"unallocated":[1],' +
      '"attributes":[{"handle_id":"h","secondary":{"__proto__":"x","a":"b"}}],' +
      '"sequenceNumber":1,"sequenceNumberForAllocation":{"0":1},"deleted":false}';
    const secondary = decodeBlock(text).attributes[0]?.secondary ?? {};
    expect(Object.keys(secondary)).toEqual(["__proto__", "a"]);
    expect(Object.getPrototypeOf(secondary)).toBe(Object.prototype);
    expect(encodeBlock(decodeBlock(text))).toContain('"secondary":{"__proto__":"x","a":"b"}');
  });
});
