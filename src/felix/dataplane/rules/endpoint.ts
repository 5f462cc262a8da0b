import type { WorkloadEndpoint } from "../../calc/messages.js";
import type { RenderConfig } from "./config.js";
import { markClear, markMatch } from "./marks.js";
import { type Direction, policyChain, profileChain } from "./names.js";
import { endOfTierPrefix, noProfileMatchPrefix } from "./nflog.js";
import { type ChainCatalogue, type PlannedTier, planEndpointChain } from "./plan.js";
import { nftNflog, type RuleBody } from "./policy.js";

export type { ChainCatalogue } from "./plan.js";

/**
 * `cali-tw-<iface>` (inbound) or `cali-fw-<iface>` (outbound), in Calico's order (reference §6):
 * conntrack fast path, clear verdict bits, tiers in order (Pass skips the rest of a tier, a tier
 * that applied and decided nothing drops unless its default is Pass), profiles, then drop.
 */
export function renderEndpointChain(
  ep: WorkloadEndpoint,
  dir: Direction,
  cfg: RenderConfig,
  known: ChainCatalogue,
): RuleBody[] {
  const { marks } = cfg;
  const plan = planEndpointChain(ep.tiers, ep.profileIds, dir, known);
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
  for (const p of tier.policies) {
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
