import type { PolicyID, Rule, TierInfo, WorkloadEndpoint } from "../../../src/felix/calc/messages.js";

/** A rule with every list empty, overridden by `over`. */
export function rule(over: Partial<Rule> = {}): Rule {
  return {
    action: "allow",
    srcNets: [],
    notSrcNets: [],
    dstNets: [],
    notDstNets: [],
    srcPorts: [],
    notSrcPorts: [],
    dstPorts: [],
    notDstPorts: [],
    srcNamedPortIpSetIds: [],
    notSrcNamedPortIpSetIds: [],
    dstNamedPortIpSetIds: [],
    notDstNamedPortIpSetIds: [],
    srcIpSetIds: [],
    notSrcIpSetIds: [],
    dstIpSetIds: [],
    notDstIpSetIds: [],
    ruleId: "0123456789abcdef",
    ...over,
  };
}

export function gnp(name: string, tier = "default"): PolicyID {
  return { kind: "GlobalNetworkPolicy", namespace: "", name, tier };
}

export function tier(
  name: string,
  ingress: PolicyID[],
  egress: PolicyID[] = [],
  defaultAction: "deny" | "pass" = "deny",
): TierInfo {
  return { name, ingressPolicies: ingress, egressPolicies: egress, defaultAction };
}

export function workload(
  name: string,
  ipv4: string[],
  over: Partial<WorkloadEndpoint> = {},
): WorkloadEndpoint {
  return {
    state: "active",
    name,
    profileIds: [],
    ipv4Nets: ipv4,
    ipv6Nets: [],
    tiers: [],
    ipv4Nat: [],
    ipv6Nat: [],
    allowSpoofedSourcePrefixes: [],
    ...over,
  };
}

export function policyBody(inboundRules: Rule[], outboundRules: Rule[] = []) {
  return {
    namespace: "",
    inboundRules,
    outboundRules,
    untracked: false,
    preDnat: false,
    applyOnForward: false,
    selector: "all()",
    performanceHints: [],
  };
}
