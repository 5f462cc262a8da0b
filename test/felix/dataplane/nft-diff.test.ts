/**
 * The nftables diff against what the driver last wrote (no kernel): unchanged objects cost
 * nothing, a changed chain is rewritten alone, a dropped chain is deleted, a reshaped base chain
 * rebuilds the table, and the record of what was written follows every step.
 */
import { describe, expect, it } from "vitest";
import { observedFromDesired, planUpdate } from "../../../src/felix/dataplane/nft/diff.js";
import type { NftChain, NftTable } from "../../../src/felix/dataplane/nft/model.js";

const chain = (name: string, ...hashes: string[]): NftChain => ({
  name,
  rules: hashes.map((hash) => ({ body: `tcp dport ${hash.length} accept`, hash })),
});

function table(chains: NftChain[]): NftTable {
  return {
    family: 4,
    name: "t",
    sets: new Map([["s", { name: "s", kind: "addr", elements: ["10.0.0.1"] }]]),
    maps: new Map([["m", { name: "m", elements: new Map([["cali1", "goto a"]]) }]]),
    chains: new Map(chains.map((c) => [c.name, c])),
  };
}

describe("nft diff against what was written", () => {
  const base: NftChain = { ...chain("fwd", "f1"), base: { type: "filter", hook: "forward", priority: 0 } };
  const a = chain("a", "a1", "a2");
  const b = chain("b", "b1");

  it("writes nothing for the same objects, and nothing for a new but equal chain", () => {
    const first = table([base, a, b]);
    const written = observedFromDesired(first);
    expect(planUpdate(table([base, a, b]), written)).toBe("");
    expect(planUpdate(table([base, a, chain("b", "b1")]), written)).toBe("");
  });

  it("rewrites only the changed chain, then records it", () => {
    const written = observedFromDesired(table([base, a, b]));
    const next = table([base, a, chain("b", "b2", "b3")]);
    const script = planUpdate(next, written);
    expect(script.split("\n").filter(Boolean)).toEqual([
      "flush chain ip t b",
      'add rule ip t b tcp dport 2 accept comment "cali:b2;"',
      'add rule ip t b tcp dport 2 accept comment "cali:b3;"',
    ]);
    const after = observedFromDesired(next, written);
    expect(after).toBe(written);
    expect(after.chains.get("b")?.hashes).toEqual(["b2", "b3"]);
    expect(planUpdate(next, after)).toBe("");
  });

  it("deletes a chain no longer wanted and forgets it", () => {
    const written = observedFromDesired(table([base, a, b]));
    const next = table([base, a]);
    expect(planUpdate(next, written).split("\n").filter(Boolean)).toEqual([
      "flush chain ip t b",
      "delete chain ip t b",
    ]);
    const after = observedFromDesired(next, written);
    expect([...after.chains.keys()]).toEqual(["fwd", "a"]);
    expect(planUpdate(next, after)).toBe("");
  });

  it("rebuilds the whole table when a base chain's hook changes", () => {
    const written = observedFromDesired(table([base, a]));
    const moved: NftChain = { ...base, base: { type: "filter", hook: "input", priority: 0 } };
    const script = planUpdate(table([moved, a]), written);
    expect(script.split("\n").slice(0, 3)).toEqual(["add table ip t", "delete table ip t", "add table ip t"]);
  });
});
