/**
 * Handles (`/calico/ipam/v2/handle/<id>`): the secondary index from an owner's handle ID to the
 * blocks holding its addresses, with a count per block.
 */
import { IPAMError } from "./errors.js";

export interface IPAMHandle {
  /** Block CIDR text → addresses this handle holds there. */
  block: Record<string, number>;
  deleted: boolean;
}

export function decodeHandle(text: string): IPAMHandle {
  const v = JSON.parse(text) as { block?: unknown; deleted?: unknown };
  // Calico's handle is a JSON object; anything else cannot be one.
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("handle is not a JSON object");
  const block: Record<string, number> = {};
  if (v.block && typeof v.block === "object") {
    for (const [k, n] of Object.entries(v.block as Record<string, unknown>)) {
      if (typeof n === "number" && Number.isInteger(n)) block[k] = n;
    }
  }
  return { block, deleted: v.deleted === true };
}

export function encodeHandle(h: IPAMHandle): string {
  const block: Record<string, number> = {};
  for (const k of Object.keys(h.block).sort()) block[k] = h.block[k] as number;
  return JSON.stringify({ block, deleted: h.deleted });
}

export function handleIsEmpty(h: IPAMHandle): boolean {
  return Object.keys(h.block).length === 0;
}

/** Adds `num` addresses in `cidr`. */
export function incrementHandle(h: IPAMHandle, cidr: string, num: number): void {
  h.block[cidr] = (h.block[cidr] ?? 0) + num;
}

export class HandleCountError extends IPAMError {
  override name = "HandleCountError";
}

/**
 * Removes `num` addresses in `cidr`; the entry disappears at zero. Taking more than the handle
 * records is an inconsistency: the entry is dropped (so nothing leaks) and the error is returned
 * for the caller to log.
 */
export function decrementHandle(h: IPAMHandle, cidr: string, num: number): HandleCountError | undefined {
  const have = h.block[cidr];
  const left = (have ?? 0) - num;
  if (left > 0) {
    h.block[cidr] = left;
    return undefined;
  }
  delete h.block[cidr];
  if (have === undefined) return new HandleCountError(`handle has no addresses in block ${cidr}`);
  if (left < 0)
    return new HandleCountError(`handle holds ${have} addresses in ${cidr}, cannot release ${num}`);
  return undefined;
}
