/** The tiers Calico creates at start of day and protects from deletion and changes of kind. */

export interface ProtectedTier {
  name: string;
  order: number;
  defaultAction: "Deny" | "Pass";
}

export const DEFAULT_TIER_NAME = "default";
export const DEFAULT_TIER_ORDER = 1_000_000;

/** In evaluation order: admin, default, baseline. */
export const PROTECTED_TIERS: readonly ProtectedTier[] = [
  { name: "kube-admin", order: 1_000, defaultAction: "Pass" },
  { name: DEFAULT_TIER_NAME, order: DEFAULT_TIER_ORDER, defaultAction: "Deny" },
  { name: "kube-baseline", order: 10_000_000, defaultAction: "Pass" },
];

export function protectedTier(name: string): ProtectedTier | undefined {
  return PROTECTED_TIERS.find((t) => t.name === name);
}

/** Calico's refusal to delete a protected tier. */
export function protectedTierDeleteMessage(name: string): string {
  return `operation Delete is not supported on ${name}: Cannot delete ${name} tier`;
}

/** Calico's refusal to delete a tier that policies still reference. */
export function nonEmptyTierDeleteMessage(name: string): string {
  return `operation delete is not supported on ${name}: Cannot delete a non-empty tier`;
}
