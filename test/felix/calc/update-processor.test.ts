import { describe, expect, it } from "vitest";
import { UpdateProcessor } from "../../../src/felix/calc/model/update-processor.js";
import { block, deleted, gnp, profile, stagedNp, wep } from "./fixtures.js";

describe("UpdateProcessor", () => {
  it("keys model updates by model identity and drops no-op repeats", () => {
    const p = new UpdateProcessor();
    const first = p.process(gnp("a", { selector: "x == 'y'" }));
    expect(first.map((u) => [u.type, u.key])).toEqual([["policy", "gnp/a"]]);
    expect(p.process(gnp("a", { selector: "x == 'y'" }))).toEqual([]);
    expect(p.process(gnp("a", { selector: "x == 'z'" }))).toHaveLength(1);
    expect(p.process(deleted(gnp("a")))).toEqual([{ type: "policy", key: "gnp/a", value: null }]);
    expect(p.process(deleted(gnp("a")))).toEqual([]);
  });

  it("treats an invalid value as a deletion, like Felix's validation filter", () => {
    const p = new UpdateProcessor();
    p.process(gnp("a", { selector: "x == 'y'" }));
    expect(p.process(gnp("a", { selector: "x ==" }))).toEqual([
      { type: "policy", key: "gnp/a", value: null },
    ]);
    expect(p.process(gnp("b", { selector: "x ==" }))).toEqual([]);
  });

  it("filters out workload endpoints without addresses and staged policies", () => {
    const p = new UpdateProcessor();
    p.process(wep("w", { ips: ["10.0.0.1/32"] }));
    expect(p.process(wep("w", { ips: [] }))).toEqual([
      { type: "endpoint", key: "wep:k8s/default/w/eth0", value: null },
    ]);
    expect(p.process(stagedNp("s", "default"))).toEqual([]);
  });

  it("recognises IPAM blocks by key and reads borrowed addresses", () => {
    const p = new UpdateProcessor();
    const [u] = p.process({ ...block("10.1.0.0/30", "n1", ["n1", "n2"]), kind: "whatever" });
    expect(u).toMatchObject({ type: "block", key: "10.1.0.0/30" });
    expect(u!.value).toMatchObject({ node: "n1", borrowed: new Map([["10.1.0.1/32", "n2"]]) });
    const text = p.process({
      ...block("10.2.0.0/30", undefined),
      value: JSON.stringify(block("10.2.0.0/30", undefined).value),
    });
    expect(text[0]!.value).toMatchObject({ cidr: "10.2.0.0/30" });
    expect(text[0]!.value).not.toHaveProperty("node");
  });

  it("keys profiles by name", () => {
    const p = new UpdateProcessor();
    expect(p.process(profile("kns.a", { labels: { "pcns.x": "1" } }))[0]).toMatchObject({
      type: "profile",
      key: "kns.a",
      value: { labels: { "pcns.x": "1" } },
    });
  });
});
