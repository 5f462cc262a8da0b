import { describe, expect, it } from "vitest";
import { EventSequencer } from "../../../src/felix/calc/event-sequencer.js";
import type { PolicyID, WorkloadEndpointUpdate } from "../../../src/felix/calc/index.js";

const pid: PolicyID = { kind: "GlobalNetworkPolicy", namespace: "", name: "p", tier: "default" };
const policy = {
  type: "ActivePolicyUpdate" as const,
  id: pid,
  policy: {
    namespace: "",
    inboundRules: [],
    outboundRules: [],
    untracked: false,
    preDnat: false,
    applyOnForward: false,
    selector: "",
    performanceHints: [],
  },
};
const wepUpdate: WorkloadEndpointUpdate = {
  type: "WorkloadEndpointUpdate",
  id: { orchestratorId: "k8s", workloadId: "ns/a", endpointId: "eth0" },
  endpoint: {
    state: "active",
    name: "calia",
    profileIds: [],
    ipv4Nets: [],
    ipv6Nets: [],
    tiers: [],
    ipv4Nat: [],
    ipv6Nat: [],
    allowSpoofedSourcePrefixes: [],
  },
};

function sequencer(members: Record<string, string[]> = {}) {
  const s = new EventSequencer();
  s.setMembersSource((id) => members[id] ?? []);
  return s;
}

describe("EventSequencer", () => {
  it("flushes adds in dependency order and removes in reverse", () => {
    const s = sequencer({ s1: ["10.0.0.1/32"] });
    s.onEndpointUpdate("w", wepUpdate);
    s.onProfileUpdate({
      type: "ActiveProfileUpdate",
      id: { name: "pr" },
      profile: { inboundRules: [], outboundRules: [] },
    });
    s.onPolicyUpdate("gnp/p", policy);
    s.onIPSetAdded("s1", "net");
    s.onRouteUpdate({
      type: "RouteUpdate",
      dst: "10.0.0.0/26",
      types: ["remote-workload"],
      ipPoolType: "none",
      natOutgoing: false,
      crossSubnet: false,
      blackhole: false,
      borrowed: false,
    });
    s.onConfigUpdate({ type: "ConfigUpdate", config: {}, sourceToRawConfig: {} as never });
    expect(s.flush().map((m) => m.type)).toEqual([
      "ConfigUpdate",
      "IPSetUpdate",
      "ActivePolicyUpdate",
      "ActiveProfileUpdate",
      "WorkloadEndpointUpdate",
      "RouteUpdate",
    ]);
    s.onIPSetRemoved("s1");
    s.onPolicyRemove("gnp/p", { type: "ActivePolicyRemove", id: pid });
    s.onProfileRemove({ type: "ActiveProfileRemove", id: { name: "pr" } });
    s.onEndpointRemove("w", { type: "WorkloadEndpointRemove", id: wepUpdate.id });
    expect(s.flush().map((m) => m.type)).toEqual([
      "WorkloadEndpointRemove",
      "ActiveProfileRemove",
      "ActivePolicyRemove",
      "IPSetRemove",
    ]);
  });

  it("sends a new set whole and later changes as coalesced deltas", () => {
    const members = { s1: ["a"] };
    const s = sequencer(members);
    s.onIPSetAdded("s1", "net");
    s.onIPSetMemberAdded("s1", "a");
    expect(s.flush()).toEqual([{ type: "IPSetUpdate", id: "s1", setType: "net", members: ["a"] }]);
    s.onIPSetMemberAdded("s1", "b");
    s.onIPSetMemberRemoved("s1", "b");
    s.onIPSetMemberRemoved("s1", "a");
    s.onIPSetMemberAdded("s1", "c");
    expect(s.flush()).toEqual([
      { type: "IPSetDeltaUpdate", id: "s1", addedMembers: ["c"], removedMembers: ["a"] },
    ]);
    s.onIPSetMemberRemoved("s1", "c");
    s.onIPSetMemberAdded("s1", "c");
    expect(s.flush()).toEqual([]);
  });

  it("cancels an add followed by a remove, and re-sends a re-added set whole", () => {
    const s = sequencer({ s1: ["x"] });
    s.onIPSetAdded("s2", "net");
    s.onIPSetRemoved("s2");
    s.onPolicyUpdate("gnp/p", policy);
    s.onPolicyRemove("gnp/p", { type: "ActivePolicyRemove", id: pid });
    expect(s.flush()).toEqual([]);
    s.onIPSetAdded("s1", "net");
    s.flush();
    s.onIPSetRemoved("s1");
    s.onIPSetAdded("s1", "net");
    expect(s.flush()).toEqual([{ type: "IPSetUpdate", id: "s1", setType: "net", members: ["x"] }]);
  });
});
