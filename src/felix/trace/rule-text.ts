/** A v3 rule as one line of text, in the words of the policy it came from. */
import type { EntityRule, Rule } from "../../api/types/common.js";

function value(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(value).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.entries(v)
      .map(([k, x]) => `${k}:${value(x)}`)
      .join(",")}}`;
  return String(v);
}

function entity(side: string, e: EntityRule | undefined): string[] {
  if (!e) return [];
  return Object.entries(e)
    .filter(([, v]) => v !== undefined && v !== "" && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${side}.${k}=${value(v)}`);
}

export function describeRule(rule: Rule): string {
  const parts: string[] = [rule.action];
  for (const k of ["ipVersion", "protocol", "notProtocol", "icmp", "notICMP"] as const) {
    const v = (rule as unknown as Record<string, unknown>)[k];
    if (v !== undefined) parts.push(`${k}=${value(v)}`);
  }
  parts.push(...entity("source", rule.source), ...entity("destination", rule.destination));
  return parts.join(" ");
}
