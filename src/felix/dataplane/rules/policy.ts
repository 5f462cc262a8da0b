import type { PolicyID, Rule } from "../../calc/messages.js";
import type { Family } from "../nft/model.js";
import type { RenderConfig } from "./config.js";
import { markSet } from "./marks.js";
import { renderMatches } from "./match.js";
import type { Direction } from "./names.js";
import { NFLOG_QUEUE_THRESHOLD, NFLOG_SNAPLEN, nflogGroup, ownerId, rulePrefix } from "./nflog.js";

export interface RuleBody {
  body: string;
  note?: string;
}

/** Who owns a rule list, for the first rule's comment and log prefixes. */
export interface RuleOwner {
  /** `Policy gnp/web ingress`-style description. */
  description: string;
  kind: string;
  name: string;
  namespace: string;
  tier: string;
  /** Which way the rules police; with flow logs on, it picks the NFLOG group and prefix. */
  direction?: Direction;
}

/** A policy as the owner of its rule lists; the caller adds the description and direction. */
export function policyOwner(id: PolicyID): Omit<RuleOwner, "description" | "direction"> {
  return {
    kind: id.kind === "GlobalNetworkPolicy" ? "gnp" : "np",
    name: id.name,
    namespace: id.namespace,
    tier: id.tier,
  };
}

/** nft's NFLOG statement for a verdict, or "" when flow logs are off. */
export function nftNflog(cfg: RenderConfig, dir: Direction | undefined, prefix: () => string): string {
  if (!cfg.flowLogs || dir === undefined) return "";
  return `log prefix "${prefix()}" group ${nflogGroup(dir)} snaplen ${NFLOG_SNAPLEN} queue-threshold ${NFLOG_QUEUE_THRESHOLD} `;
}

export function logPrefix(template: string, owner: RuleOwner): string {
  const nsName = owner.namespace ? `${owner.namespace}/${owner.name}` : owner.name;
  const text = template.replace(/%([knpt])/g, (_, c: string) =>
    c === "k" ? owner.kind : c === "n" ? owner.name : c === "p" ? nsName : owner.tier,
  );
  return text.replace(/["\\]/g, "_").slice(0, 127);
}

function verdict(rule: Rule, cfg: RenderConfig, owner: RuleOwner, index: number): string {
  const { marks } = cfg;
  const nflog = (action: "allow" | "deny" | "pass") =>
    nftNflog(cfg, owner.direction, () =>
      rulePrefix(
        action,
        owner.kind === "pro",
        owner.direction ?? "inbound",
        index,
        ownerId(owner.kind, owner.namespace, owner.name),
      ),
    );
  switch (rule.action) {
    case "allow":
      return `${markSet(marks.accept)} ${nflog("allow")}return`;
    case "pass":
      return `${markSet(marks.pass)} ${nflog("pass")}return`;
    case "deny":
      return `${markSet(marks.drop)} ${nflog("deny")}${cfg.denyAction}`;
    case "log": {
      const log = `log prefix "${logPrefix(cfg.logPrefix, owner)} "`;
      if (cfg.logActionRateLimit === undefined) return log;
      return `limit rate ${cfg.logActionRateLimit} burst ${cfg.logActionRateLimitBurst} packets ${log}`;
    }
  }
}

/**
 * A policy's or profile's rules for one direction and family. A verdict sets its mark bit and
 * returns to the endpoint chain, which reads the bit; deny drops on the spot.
 */
export function renderRuleList(
  rules: readonly Rule[],
  family: Family,
  cfg: RenderConfig,
  owner: RuleOwner,
): RuleBody[] {
  const out: RuleBody[] = [];
  for (const [index, rule] of rules.entries()) {
    const action = verdict(rule, cfg, owner, index);
    for (const match of renderMatches(rule, family))
      out.push({ body: match ? `${match} ${action}` : action });
  }
  const first = out[0];
  if (first) first.note = owner.description;
  return out;
}
