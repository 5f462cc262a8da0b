/**
 * Evaluation order: tiers that exist before tiers that
 * don't; then ascending order (missing = last); then name. Policies within a tier: ascending
 * order (missing = last), ties by `<name>/<namespace>/<kind>` byte-wise.
 */
import { compareUtf8 } from "../../selector/index.js";
import type { ModelPolicy, ModelTier } from "./model/types.js";

function compareOrder(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function tieBreakKey(p: ModelPolicy): string {
  return `${p.id.name}/${p.id.namespace}/${p.id.kind}`;
}

export function comparePolicies(a: ModelPolicy, b: ModelPolicy): number {
  return compareOrder(a.order, b.order) || compareUtf8(tieBreakKey(a), tieBreakKey(b));
}

/** `a`/`b` are tier names; `tiers` holds the tiers that exist. */
export function compareTiers(a: string, b: string, tiers: ReadonlyMap<string, ModelTier>): number {
  const ta = tiers.get(a);
  const tb = tiers.get(b);
  if (ta && !tb) return -1;
  if (!ta && tb) return 1;
  return compareOrder(ta?.order, tb?.order) || compareUtf8(a, b);
}
