/** v3 rules → model rules: action names, rewritten selectors, canonical nets. */
import type { EntityRule, Rule } from "../../../api/index.js";
import { canonicalCIDR } from "../../../lib/net.js";
import { entityRuleSelector } from "./selectors.js";
import type { ModelAction, ModelEntity, ModelIcmp, ModelRule } from "./types.js";

const ACTIONS: Record<string, ModelAction> = {
  Allow: "allow",
  Deny: "deny",
  Pass: "next-tier",
  Log: "log",
};

export class ModelConversionError extends Error {}

/** Canonical (masked) CIDRs; a bare address becomes a /32 or /128. */
export function canonicalNets(list: string[] | undefined): string[] {
  return (list ?? []).map((n) => {
    const c = canonicalCIDR(n);
    if (!c) throw new ModelConversionError(`invalid CIDR ${JSON.stringify(n)}`);
    return c;
  });
}

function entity(e: EntityRule | undefined, ns: string): ModelEntity {
  return {
    nets: canonicalNets(e?.nets),
    notNets: canonicalNets(e?.notNets),
    selector: entityRuleSelector(e, ns),
    notSelector: e?.notSelector ?? "",
    ports: [...(e?.ports ?? [])],
    notPorts: [...(e?.notPorts ?? [])],
  };
}

function icmp(fields: { type?: number; code?: number } | undefined): ModelIcmp | undefined {
  if (fields?.type === undefined) return undefined;
  return fields.code === undefined ? { type: fields.type } : { type: fields.type, code: fields.code };
}

/** `ns` is the owning policy's namespace, "" for global policies and profiles. */
export function toModelRule(rule: Rule, ns: string): ModelRule {
  const action = ACTIONS[rule.action];
  if (!action) throw new ModelConversionError(`unknown rule action ${JSON.stringify(rule.action)}`);
  const out: ModelRule = { action, src: entity(rule.source, ns), dst: entity(rule.destination, ns) };
  if (rule.ipVersion !== undefined) out.ipVersion = rule.ipVersion;
  if (rule.protocol !== undefined) out.protocol = rule.protocol;
  if (rule.notProtocol !== undefined) out.notProtocol = rule.notProtocol;
  const i = icmp(rule.icmp);
  if (i) out.icmp = i;
  const ni = icmp(rule.notICMP);
  if (ni) out.notIcmp = ni;
  const annotations = rule.metadata?.annotations;
  if (annotations && Object.keys(annotations).length > 0) out.annotations = { ...annotations };
  return out;
}

export function toModelRules(rules: Rule[] | undefined, ns: string): ModelRule[] {
  return (rules ?? []).map((r) => toModelRule(r, ns));
}
