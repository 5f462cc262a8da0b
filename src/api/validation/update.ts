/**
 * Checks that compare a resource with the stored version it replaces (IPPool immutability).
 * Run alongside `validate` on updates; both objects should already be defaulted.
 */
import { canonicalCIDR, formatCIDR, parseCIDR } from "../../lib/net.js";
import { isPlainObject } from "../plain.js";
import { asArray, asObject } from "./access.js";
import { Issues, type ValidationError } from "./errors.js";

/** Same network, and the new text already canonical (so re-spelling to a canonical form is allowed). */
function cidrChangeAllowed(before: unknown, after: unknown): boolean {
  if (before === after) return true;
  if (typeof before !== "string" || typeof after !== "string") return false;
  const a = parseCIDR(before);
  const b = parseCIDR(after);
  return (
    a !== undefined && b !== undefined && formatCIDR(a) === formatCIDR(b) && canonicalCIDR(after) === after
  );
}

function checkIPPoolUpdate(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  issues: Issues,
): void {
  if (!cidrChangeAllowed(before.cidr, after.cidr))
    issues.add("spec.cidr", "IPPool CIDR cannot be modified", after.cidr);
  if (before.blockSize !== after.blockSize) {
    issues.add("spec.blockSize", "IPPool BlockSize cannot be modified", after.blockSize);
  }
  if (
    asArray(before.allowedUses).includes("LoadBalancer") &&
    asArray(after.allowedUses).some((u) => u !== "LoadBalancer")
  ) {
    // Calico's message carries the typo "LoadBalacer".
    issues.add(
      "spec.allowedUses",
      "IPPool allowed use cannot be changed from LoadBalacer to Workload or Tunnel",
      after.allowedUses,
    );
  }
}

/** Errors in replacing `previous` with `next` that `validate(next)` alone cannot see. */
export function validateUpdate(previous: unknown, next: unknown): ValidationError[] {
  const issues = new Issues();
  if (!isPlainObject(previous) || !isPlainObject(next) || previous.kind !== next.kind) return issues.list;
  if (next.kind === "IPPool") checkIPPoolUpdate(asObject(previous.spec), asObject(next.spec), issues);
  return issues.list;
}
