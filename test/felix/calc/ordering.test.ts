import { describe, expect, it } from "vitest";
import { CalcGraph, type TierInfo } from "../../../src/felix/calc/index.js";
import { DataplaneModel } from "./dataplane-model.js";
import { deleted, gnp, np, tier, wep } from "./fixtures.js";

function tiersOf(updates: Parameters<CalcGraph["onUpdates"]>[0]): TierInfo[] {
  const graph = new CalcGraph({ hostname: "host1" });
  const dp = new DataplaneModel();
  graph.onStatus("InSync");
  graph.onUpdates(updates);
  graph.onUpdate(wep("a", { labels: { app: "a" } }));
  dp.apply(graph.flush());
  return dp.workloads.get("k8s/default/a/eth0")!.endpoint.tiers;
}

const summary = (tiers: TierInfo[]) =>
  tiers.map((t) => `${t.name}(${t.defaultAction}):${t.ingressPolicies.map((p) => p.name).join(",")}`);

describe("policy ordering", () => {
  it("orders tiers by order then name; missing tiers last with deny", () => {
    const tiers = tiersOf([
      tier("default", 1_000_000),
      tier("kube-admin", 1_000, "Pass"),
      tier("b-sec", 100),
      tier("a-sec", 100),
      tier("unused", 1),
      gnp("d", { selector: "all()" }),
      gnp("k", { selector: "all()", tier: "kube-admin" }),
      gnp("b", { selector: "all()", tier: "b-sec" }),
      gnp("a", { selector: "all()", tier: "a-sec" }),
      gnp("gone", { selector: "all()", tier: "deleted-tier" }),
      gnp("z", { selector: "all()", tier: "unordered" }),
    ]);
    expect(summary(tiers)).toEqual([
      "a-sec(deny):a",
      "b-sec(deny):b",
      "kube-admin(pass):k",
      "default(deny):d",
      "deleted-tier(deny):gone",
      "unordered(deny):z",
    ]);
  });

  it("sorts tiers that exist but have no order after ordered ones", () => {
    const tiers = tiersOf([
      tier("default", 1_000_000),
      tier("noorder"),
      gnp("d", { selector: "all()" }),
      gnp("n", { selector: "all()", tier: "noorder" }),
    ]);
    expect(summary(tiers)).toEqual(["default(deny):d", "noorder(deny):n"]);
  });

  it("orders policies by order (missing last), ties by name/namespace/kind", () => {
    const tiers = tiersOf([
      tier("default", 1_000_000),
      gnp("none", { selector: "all()" }),
      gnp("ten", { selector: "all()", order: 10 }),
      gnp("five", { selector: "all()", order: 5 }),
      np("five", "default", { selector: "all()", order: 5 }),
      gnp("aaa", { selector: "all()", order: 5 }),
      gnp("neg", { selector: "all()", order: -1.5 }),
    ]);
    expect(summary(tiers)).toEqual(["default(deny):neg,aaa,five,five,ten,none"]);
    expect(tiers[0]!.ingressPolicies.slice(2, 4).map((p) => p.kind)).toEqual([
      "GlobalNetworkPolicy",
      "NetworkPolicy",
    ]);
  });

  it("lists policies per direction by their types", () => {
    const tiers = tiersOf([
      tier("default", 1_000_000),
      gnp("in", { selector: "all()", types: ["Ingress"], order: 1 }),
      gnp("out", { selector: "all()", types: ["Egress"], order: 2 }),
      gnp("both", { selector: "all()", types: ["Ingress", "Egress"], order: 3 }),
    ]);
    expect(tiers[0]!.ingressPolicies.map((p) => p.name)).toEqual(["in", "both"]);
    expect(tiers[0]!.egressPolicies.map((p) => p.name)).toEqual(["out", "both"]);
  });

  it("includes only tiers with a matching policy", () => {
    const tiers = tiersOf([
      tier("default", 1_000_000),
      tier("other", 10),
      gnp("d", { selector: "all()" }),
      gnp("o", { selector: "app == 'nope'", tier: "other" }),
    ]);
    expect(summary(tiers)).toEqual(["default(deny):d"]);
  });

  it("re-sorts an endpoint when a policy's order or a tier changes", () => {
    const graph = new CalcGraph({ hostname: "host1" });
    const dp = new DataplaneModel();
    graph.onStatus("InSync");
    graph.onUpdates([
      tier("default", 1_000_000),
      tier("t", 10),
      gnp("x", { selector: "all()", order: 1 }),
      gnp("y", { selector: "all()", order: 2 }),
      gnp("z", { selector: "all()", tier: "t" }),
      wep("a"),
    ]);
    dp.apply(graph.flush());
    const get = () => summary(dp.workloads.get("k8s/default/a/eth0")!.endpoint.tiers);
    expect(get()).toEqual(["t(deny):z", "default(deny):x,y"]);
    graph.onUpdate(gnp("x", { selector: "all()", order: 3 }));
    dp.apply(graph.flush());
    expect(get()).toEqual(["t(deny):z", "default(deny):y,x"]);
    graph.onUpdate(tier("t", 2_000_000, "Pass"));
    dp.apply(graph.flush());
    expect(get()).toEqual(["default(deny):y,x", "t(pass):z"]);
    graph.onUpdate(deleted(tier("t")));
    dp.apply(graph.flush());
    expect(get()).toEqual(["default(deny):y,x", "t(deny):z"]);
  });
});
