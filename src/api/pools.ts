/** Pure pieces of the IPPool cross-object checks (the client layer supplies the other pools). */
import { cidrsOverlap, parseCIDR } from "../lib/net.js";
import type { ValidationError } from "./validation/errors.js";

export interface PoolRef {
  name: string;
  cidr: string;
}

/** Whether two pool CIDRs share any address; unparseable CIDRs never overlap. */
export function poolsOverlap(a: string, b: string): boolean {
  const ca = parseCIDR(a);
  const cb = parseCIDR(b);
  return ca !== undefined && cb !== undefined && cidrsOverlap(ca, cb);
}

/**
 * One error per existing pool the new pool overlaps, worded as Calico words it:
 * `IPPool(<new>) CIDR overlaps with IPPool(<other>) CIDR <cidr>`. A pool never conflicts with
 * itself (same name), so the same call serves updates.
 */
export function poolOverlapErrors(pool: PoolRef, others: readonly PoolRef[]): ValidationError[] {
  return others
    .filter((o) => o.name !== pool.name && poolsOverlap(pool.cidr, o.cidr))
    .map((o) => ({
      field: "spec.cidr",
      value: pool.cidr,
      reason: `IPPool(${pool.name}) CIDR overlaps with IPPool(${o.name}) CIDR ${o.cidr}`,
    }));
}
