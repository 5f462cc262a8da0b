/**
 * The plan of an endpoint chain, before any rule syntax: which tiers the packet walks in order,
 * which policies of each tier it meets, whether the tier drops what none of them decided, which
 * profiles come after, and what happens to a packet that gets to the end. The nftables and
 * iptables renderers (workload and host endpoints alike) spell this plan as rules, and the policy
 * trace walks the same plan, so the trace cannot disagree with the chains about the order.
 */
import { type PolicyID, policyIdKey, type TierInfo } from "../../calc/messages.js";
import type { Direction } from "./names.js";

/**
 * `normal`: a workload's chains, and a host endpoint's for traffic to or from the host;
 * `forward`: a host endpoint's `applyOnForward` chains; `preDnat` and `untracked`: its mangle and
 * raw chains, which only ever allow early or pass the packet on.
 */
export type ChainKind = "normal" | "forward" | "preDnat" | "untracked";

/** Which policy and profile chains exist, so a missing one fails closed instead of breaking the load. */
export interface ChainCatalogue {
  hasPolicy(id: PolicyID): boolean;
  hasProfile(name: string): boolean;
}

export interface PlannedPolicy {
  id: PolicyID;
  /** `policyIdKey(id)`: names the policy's chains. */
  key: string;
  /** False when the endpoint refers to a policy that is not programmed: the step then drops. */
  programmed: boolean;
}

export interface PlannedTier {
  name: string;
  policies: PlannedPolicy[];
  /** A packet no policy of the tier allowed, denied or passed is dropped at the tier's end. */
  dropAtEnd: boolean;
}

export interface PlannedProfile {
  name: string;
  /** False when the profile is not programmed: the step then drops. */
  programmed: boolean;
}

export interface EndpointPlan {
  dir: Direction;
  kind: ChainKind;
  /** Tiers with at least one policy for this direction, in order. */
  tiers: PlannedTier[];
  /** After the tiers (normal chains only), each profile in turn until one allows. */
  profiles: PlannedProfile[];
  /**
   * A packet that gets past every tier and profile: `drop` (normal chains), `allow` (a forward
   * chain with no tier for this direction), or `return` unjudged (later stages decide).
   */
  fallthrough: "drop" | "allow" | "return";
}

export function planEndpointChain(
  tiers: readonly TierInfo[],
  profileIds: readonly string[],
  dir: Direction,
  known: ChainCatalogue,
  kind: ChainKind = "normal",
): EndpointPlan {
  const planned: PlannedTier[] = [];
  for (const tier of tiers) {
    const ids = dir === "inbound" ? tier.ingressPolicies : tier.egressPolicies;
    if (ids.length === 0) continue;
    planned.push({
      name: tier.name,
      policies: ids.map((id) => ({ id, key: policyIdKey(id), programmed: known.hasPolicy(id) })),
      // Untracked and pre-DNAT policy never ends a tier with a drop: the packet still meets the
      // normal chains later.
      dropAtEnd: (kind === "normal" || kind === "forward") && tier.defaultAction !== "pass",
    });
  }
  const profiles =
    kind === "normal" ? profileIds.map((name) => ({ name, programmed: known.hasProfile(name) })) : [];
  const fallthrough =
    kind === "normal" ? "drop" : kind === "forward" && planned.length === 0 ? "allow" : "return";
  return { dir, kind, tiers: planned, profiles, fallthrough };
}
