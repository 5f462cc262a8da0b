import type {
  HostEndpoint,
  PolicyID,
  RouteUpdate,
  Rule,
  TierInfo,
  WorkloadEndpoint,
} from "../../../src/felix/calc/messages.js";
import { DesiredPolicyState } from "../../../src/felix/dataplane/state.js";

/** A route resolver update for a remote no-encap block, overridden by `over`. */
export function routeUpdate(dst: string, over: Partial<RouteUpdate> = {}): RouteUpdate {
  return {
    type: "RouteUpdate",
    dst,
    types: ["remote-workload"],
    ipPoolType: "no-encap",
    natOutgoing: false,
    crossSubnet: false,
    blackhole: false,
    borrowed: false,
    ...over,
  };
}

/** A rule with every list empty, overridden by `over`. */
/** A host endpoint with no policy, overridden by `over`. */
export function hep(name: string, over: Partial<HostEndpoint> = {}): HostEndpoint {
  return {
    name,
    profileIds: [],
    tiers: [],
    untrackedTiers: [],
    preDnatTiers: [],
    forwardTiers: [],
    expectedIpv4Addrs: [],
    expectedIpv6Addrs: [],
    ...over,
  };
}

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

/**
 * A small desired state: a selector set, a named-port set, a profile, one policy using both sets
 * and one endpoint in tier `default`. `dualStack` adds IPv6 members and an `ip` set of hosts.
 */
export function sampleState(opts: { dualStack?: boolean } = {}): DesiredPolicyState {
  const v6 = opts.dualStack === true;
  const s = new DesiredPolicyState();
  s.onUpdate({
    type: "IPSetUpdate",
    id: "s:src",
    setType: "net",
    members: ["10.240.0.2/32", "10.241.0.0/16", ...(v6 ? ["fd00::/64"] : [])],
  });
  s.onUpdate({
    type: "IPSetUpdate",
    id: "n:web",
    setType: "ip,port",
    members: ["10.240.0.1,tcp:8080", ...(v6 ? ["fd00::1,tcp:8080"] : [])],
  });
  if (v6)
    s.onUpdate({
      type: "IPSetUpdate",
      id: "s:hosts",
      setType: "ip",
      members: ["10.0.0.1/32", "fd00::1/128"],
    });
  s.onUpdate({
    type: "ActiveProfileUpdate",
    id: { name: "kns.a" },
    profile: { inboundRules: [rule()], outboundRules: [rule()] },
  });
  s.onUpdate({
    type: "ActivePolicyUpdate",
    id: gnp("web"),
    policy: policyBody([rule({ protocol: "tcp", srcIpSetIds: ["s:src"], dstNamedPortIpSetIds: ["n:web"] })]),
  });
  s.onUpdate({
    type: "WorkloadEndpointUpdate",
    id: { orchestratorId: "k8s", workloadId: "ns/a", endpointId: "eth0" },
    endpoint: workload("calia", ["10.240.0.1/32"], {
      tiers: [tier("default", [gnp("web")])],
      profileIds: ["kns.a"],
    }),
  });
  return s;
}
