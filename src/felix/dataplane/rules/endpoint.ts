import type { WorkloadEndpoint } from "../../calc/messages.js";
import type { RenderConfig } from "./config.js";
import { groupChainBase, groupChainPlan, type PolicyGroup } from "./groups.js";
import { markAny, markClear, markMatch } from "./marks.js";
import { type Direction, FILTER, policyChain, profileChain } from "./names.js";
import { endOfTierPrefix, noProfileMatchPrefix } from "./nflog.js";
import { type ChainCatalogue, type EndpointPlan, type PlannedTier, planEndpointChain } from "./plan.js";
import { nftNflog, type RuleBody } from "./policy.js";

export type { ChainCatalogue } from "./plan.js";

/**
 * `cali-tw-<iface>` (inbound) or `cali-fw-<iface>` (outbound), in Calico's order:
 * conntrack fast path, clear verdict bits, tiers in order (Pass skips the rest of a tier, a tier
 * that applied and decided nothing drops unless its default is Pass), profiles, then drop.
 */
export function renderEndpointChain(
  ep: WorkloadEndpoint,
  dir: Direction,
  cfg: RenderConfig,
  known: ChainCatalogue,
): RuleBody[] {
  return renderPlannedEndpointChain(planEndpointChain(ep.tiers, ep.profileIds, dir, known), cfg);
}

/** The endpoint chain's rules for an already made plan. */
export function renderPlannedEndpointChain(plan: EndpointPlan, cfg: RenderConfig): RuleBody[] {
  const { marks } = cfg;
  const { dir } = plan;
  const out: RuleBody[] = [{ body: "ct state established,related accept" }];
  if (cfg.conntrackInvalidCheck) out.push({ body: "ct state invalid drop" });
  out.push({ body: markClear(marks.accept | marks.pass) });
  if (dir === "outbound") {
    if (!cfg.allowVxlanFromWorkloads)
      out.push({
        body: "meta l4proto 17 th dport 4789 drop",
        note: "Drop VXLAN encapped packets originating in workloads",
      });
    if (!cfg.allowIpipFromWorkloads)
      out.push({
        body: "meta l4proto 4 drop",
        note: "Drop IPinIP encapped packets originating in workloads",
      });
  }
  for (const tier of plan.tiers) out.push(...tierRules(tier, dir, cfg));
  for (const profile of plan.profiles) {
    if (!profile.programmed) {
      out.push({ body: cfg.denyAction, note: `Profile ${profile.name} is not programmed` });
      continue;
    }
    out.push({ body: `jump ${profileChain(dir, profile.name)}` });
    out.push({ body: `${markMatch(marks.accept, true)} return`, note: "Return if profile accepted" });
  }
  out.push({
    body: `${nftNflog(cfg, dir, () => noProfileMatchPrefix(dir))}${cfg.denyAction}`,
    note: "Drop if no profiles matched",
  });
  return out;
}

function tierRules(tier: PlannedTier, dir: Direction, cfg: RenderConfig): RuleBody[] {
  const { marks } = cfg;
  const out: RuleBody[] = [{ body: markClear(marks.pass), note: `Start of tier ${tier.name}` }];
  for (const step of tier.steps) {
    if (step.kind === "group") {
      out.push({ body: `${markMatch(marks.pass, false)} jump ${groupChain(step.group)}` });
      out.push({ body: `${markMatch(marks.accept, true)} return`, note: "Return if policy accepted" });
      continue;
    }
    const p = step.policy;
    if (!p.programmed) {
      out.push({
        body: `${markMatch(marks.pass, false)} ${cfg.denyAction}`,
        note: `Policy ${p.key} is not programmed`,
      });
      continue;
    }
    out.push({ body: `${markMatch(marks.pass, false)} jump ${policyChain(dir, p.key)}` });
    out.push({ body: `${markMatch(marks.accept, true)} return`, note: "Return if policy accepted" });
  }
  if (tier.dropAtEnd)
    out.push({
      body: `${markMatch(marks.pass, false)} ${nftNflog(cfg, dir, () => endOfTierPrefix(dir, tier.name))}${cfg.denyAction}`,
      note: `End of tier ${tier.name}. Drop if no policies passed packet`,
    });
  return out;
}

/** `filter-cali-gi-<id>` / `filter-cali-go-<id>`. */
export function groupChain(group: PolicyGroup): string {
  return `${FILTER}${groupChainBase(group)}`;
}

/** A shared group chain's rules (rules/groups.ts): its policies' jumps, leaving once one decides. */
export function renderGroupChain(group: PolicyGroup, cfg: RenderConfig): RuleBody[] {
  const decided = cfg.marks.accept | cfg.marks.pass;
  const out: RuleBody[] = [];
  for (const { key, returnFirst } of groupChainPlan(group)) {
    const jump = `jump ${policyChain(group.dir, key)}`;
    if (returnFirst) out.push({ body: `${markAny(decided)} return` });
    out.push({ body: out.length === 0 || returnFirst ? jump : `${markMatch(decided, false)} ${jump}` });
  }
  return out;
}
