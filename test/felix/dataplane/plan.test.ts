import { describe, expect, it } from "vitest";
import { planEndpointChain } from "../../../src/felix/dataplane/rules/plan.js";
import { gnp, tier } from "./fixtures.js";

const known = {
  hasPolicy: (id: { name: string }) => id.name !== "gone",
  hasProfile: (n: string) => n !== "kns.gone",
};

describe("endpoint chain plan", () => {
  it("keeps tiers with policies for the direction, in order, marking what is not programmed", () => {
    const tiers = [
      tier("security", [gnp("a", "security"), gnp("gone", "security")], [], "pass"),
      tier("egress-only", [], [gnp("e", "egress-only")]),
      tier("default", [gnp("d")]),
    ];
    const plan = planEndpointChain(tiers, ["kns.a", "kns.gone"], "inbound", known);
    expect(
      plan.tiers.map((t) => [t.name, t.dropAtEnd, t.policies.map((p) => `${p.key}:${p.programmed}`)]),
    ).toEqual([
      ["security", false, ["gnp/a:true", "gnp/gone:false"]],
      ["default", true, ["gnp/d:true"]],
    ]);
    expect(plan.profiles).toEqual([
      { name: "kns.a", programmed: true },
      { name: "kns.gone", programmed: false },
    ]);
    expect(plan.fallthrough).toBe("drop");
  });

  it("gives host endpoint stages their own endings", () => {
    const tiers = [tier("default", [gnp("d")])];
    const untracked = planEndpointChain(tiers, ["p"], "inbound", known, "untracked");
    expect([untracked.tiers[0]!.dropAtEnd, untracked.profiles, untracked.fallthrough]).toEqual([
      false,
      [],
      "return",
    ]);
    expect(planEndpointChain(tiers, [], "outbound", known, "forward").fallthrough).toBe("allow");
    expect(planEndpointChain(tiers, [], "inbound", known, "forward")).toMatchObject({
      fallthrough: "return",
      tiers: [{ dropAtEnd: true }],
    });
  });
});
