/**
 * Walks one endpoint chain's plan for a packet, the way the chain's rules would: policies of a
 * tier in order until one allows, denies or passes; a tier that applied and decided nothing drops
 * at its end (unless its default is Pass); then the profiles; then the chain's fallthrough.
 */
import type { Rule, RuleAction } from "../calc/messages.js";
import { renderMatches } from "../dataplane/rules/match.js";
import type { EndpointPlan } from "../dataplane/rules/plan.js";
import type { TracePacket } from "./packet.js";
import { type IPSets, ruleMatches } from "./rule-match.js";

export type Verdict = "allow" | "deny";

export interface RuleHit {
  /** Index in the policy's (or profile's) ingress or egress list, from 0. */
  index: number;
  action: RuleAction;
  /** The rule as written in the policy. */
  text: string;
  /** The rule's match as the nftables dataplane renders it (variants joined by ` | `). */
  rendered: string;
}

export interface TraceStep {
  kind: "failsafe" | "policy" | "end-of-tier" | "profile" | "end-of-chain" | "endpoint";
  /** The tier, for policy and end-of-tier steps. */
  tier?: string;
  /** Policy key (`gnp/x`, `np/ns/x`), profile name, or what the step is. */
  name: string;
  /**
   * allow / deny: the step decided; pass: the rest of the tier is skipped; no-match: nothing in
   * it matched, on to the next; skipped: not evaluated because an earlier policy passed.
   */
  outcome: "allow" | "deny" | "pass" | "no-match" | "skipped";
  rule?: RuleHit;
  /** Log rules the packet matched on the way (they log and go on). */
  logged?: RuleHit[];
  note?: string;
}

export interface WalkResult {
  steps: TraceStep[];
  /** `return`: the chain decided nothing (pre-DNAT, untracked): later stages do. */
  verdict: Verdict | "return";
  reason: string;
}

/** Where the walk finds the rules a plan refers to. */
export interface RuleSource {
  policyRules(key: string, dir: EndpointPlan["dir"]): readonly Rule[] | undefined;
  profileRules(name: string, dir: EndpointPlan["dir"]): readonly Rule[] | undefined;
  /** The rule's text as the user wrote it. */
  ruleText(owner: { policy: string } | { profile: string }, dir: EndpointPlan["dir"], index: number): string;
}

function hit(rule: Rule, index: number, pkt: TracePacket, text: string): RuleHit {
  return {
    index,
    action: rule.action,
    text,
    rendered: renderMatches(rule, pkt.family).join(" | ") || "(any)",
  };
}

/** The first rule that decides (log rules log and go on), and the log rules met before it. */
function firstMatch(
  rules: readonly Rule[],
  pkt: TracePacket,
  sets: IPSets,
  text: (index: number) => string,
): { rule?: RuleHit; logged: RuleHit[] } {
  const logged: RuleHit[] = [];
  for (const [i, rule] of rules.entries()) {
    if (!ruleMatches(rule, pkt, sets)) continue;
    const h = hit(rule, i, pkt, text(i));
    if (rule.action === "log") {
      logged.push(h);
      continue;
    }
    return { rule: h, logged };
  }
  return { logged };
}

function withLogs(step: TraceStep, logged: RuleHit[]): TraceStep {
  return logged.length > 0 ? { ...step, logged } : step;
}

export function walkPlan(plan: EndpointPlan, pkt: TracePacket, sets: IPSets, source: RuleSource): WalkResult {
  const steps: TraceStep[] = [];
  const { dir } = plan;
  for (const tier of plan.tiers) {
    let passed = false;
    for (const p of tier.policies) {
      if (passed) {
        steps.push({ kind: "policy", tier: tier.name, name: p.key, outcome: "skipped" });
        continue;
      }
      const rules = p.programmed ? source.policyRules(p.key, dir) : undefined;
      if (!rules) {
        steps.push({
          kind: "policy",
          tier: tier.name,
          name: p.key,
          outcome: "deny",
          note: "policy is not programmed on this host (fails closed)",
        });
        return { steps, verdict: "deny", reason: `policy ${p.key} is not programmed` };
      }
      const m = firstMatch(rules, pkt, sets, (i) => source.ruleText({ policy: p.key }, dir, i));
      if (!m.rule) {
        steps.push(withLogs({ kind: "policy", tier: tier.name, name: p.key, outcome: "no-match" }, m.logged));
        continue;
      }
      const action = m.rule.action;
      const outcome = action === "allow" ? "allow" : action === "deny" ? "deny" : "pass";
      steps.push(withLogs({ kind: "policy", tier: tier.name, name: p.key, outcome, rule: m.rule }, m.logged));
      if (outcome === "allow")
        return { steps, verdict: "allow", reason: `${p.key} rule ${m.rule.index} allows` };
      if (outcome === "deny")
        return { steps, verdict: "deny", reason: `${p.key} rule ${m.rule.index} denies` };
      passed = true;
    }
    if (passed) continue;
    if (tier.dropAtEnd) {
      steps.push({
        kind: "end-of-tier",
        tier: tier.name,
        name: `end of tier ${tier.name}`,
        outcome: "deny",
        note: "no policy of the tier allowed, denied or passed the packet",
      });
      return { steps, verdict: "deny", reason: `end of tier ${tier.name}: no policy matched` };
    }
    steps.push({
      kind: "end-of-tier",
      tier: tier.name,
      name: `end of tier ${tier.name}`,
      outcome: "pass",
      note: "the tier's default action is Pass",
    });
  }
  for (const profile of plan.profiles) {
    const rules = profile.programmed ? source.profileRules(profile.name, dir) : undefined;
    if (!rules) {
      steps.push({ kind: "profile", name: profile.name, outcome: "deny", note: "profile is not programmed" });
      return { steps, verdict: "deny", reason: `profile ${profile.name} is not programmed` };
    }
    const m = firstMatch(rules, pkt, sets, (i) => source.ruleText({ profile: profile.name }, dir, i));
    // A profile's Pass, like no match, goes on to the next profile.
    const outcome = m.rule?.action === "allow" ? "allow" : m.rule?.action === "deny" ? "deny" : "no-match";
    const step: TraceStep = { kind: "profile", name: profile.name, outcome };
    if (m.rule) step.rule = m.rule;
    steps.push(withLogs(step, m.logged));
    if (outcome === "allow")
      return { steps, verdict: "allow", reason: `profile ${profile.name} rule ${m.rule!.index} allows` };
    if (outcome === "deny")
      return { steps, verdict: "deny", reason: `profile ${profile.name} rule ${m.rule!.index} denies` };
  }
  if (plan.fallthrough === "drop") {
    const note = plan.profiles.length > 0 ? "no profile allowed the packet" : "no policy or profile applies";
    steps.push({ kind: "end-of-chain", name: "end of chain", outcome: "deny", note });
    return { steps, verdict: "deny", reason: note };
  }
  if (plan.fallthrough === "allow") {
    steps.push({ kind: "end-of-chain", name: "end of chain", outcome: "allow", note: "no policy applies" });
    return { steps, verdict: "allow", reason: "no forward policy applies" };
  }
  return { steps, verdict: "return", reason: "no policy decided" };
}
