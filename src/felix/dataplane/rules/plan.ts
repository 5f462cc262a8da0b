/**
 * The plan of an endpoint chain, before any rule syntax: which tiers the packet walks in order,
 * which policies of each tier it meets, whether the tier drops what none of them decided, which
 * profiles come after, and what happens to a packet that gets to the end. The nftables and
 * iptables renderers (workload and host endpoints alike) spell this plan as rules, and the policy
 * trace walks the same plan, so the trace cannot disagree with the chains about the order.
 */
import { type PolicyID, policyIdKey, type TierInfo } from "../../calc/messages.js";
import { groupPolicies, type PlannedPolicy, type PolicyGroup, type TierStep } from "./groups.js";
import type { Direction } from "./names.js";

export type { PlannedPolicy } from "./groups.js";

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
  /**
   * The selector of a programmed policy. Given, consecutive policies with one selector form a
   * shared policy group (rules/groups.ts); without it every policy is its own step.
   */
  selectorOf?(id: PolicyID): string | undefined;
}

export interface PlannedTier {
  name: string;
  policies: PlannedPolicy[];
  /** The same policies as the chain jumps to them: alone, or in shared groups. */
  steps: TierStep[];
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
    const policies = ids.map((id) => ({ id, key: policyIdKey(id), programmed: known.hasPolicy(id) }));
    const selectorOf = known.selectorOf?.bind(known);
    planned.push({
      name: tier.name,
      policies,
      steps: selectorOf
        ? groupPolicies(policies, dir, (p) => selectorOf(p.id))
        : policies.map((policy) => ({ kind: "policy", policy })),
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

/**
 * Everything an endpoint chain reads besides the endpoint object: for each policy whether it is
 * programmed and which selector it has (`policyToken`, the selector decides the groups), and
 * which profiles are programmed. Memoised endpoint chains are rendered again when it changes.
 */
export function endpointSignature(
  tiers: readonly TierInfo[],
  profileIds: readonly string[],
  dir: Direction,
  known: ChainCatalogue & { policyToken(id: PolicyID): string },
): string {
  let sig = "";
  for (const t of tiers)
    for (const id of dir === "inbound" ? t.ingressPolicies : t.egressPolicies)
      sig += `${known.policyToken(id)},`;
  for (const p of profileIds) sig += known.hasProfile(p) ? "1" : "0";
  return sig;
}

/** The distinct policy groups a plan jumps to. */
export function planGroups(plan: EndpointPlan): PolicyGroup[] {
  const out: PolicyGroup[] = [];
  for (const tier of plan.tiers)
    for (const step of tier.steps) if (step.kind === "group") out.push(step.group);
  return out;
}
