/**
 * Block affinity values (`/calico/ipam/v2/host/<node>/ipv4/block/<cidr>`). The claim protocol
 * moves an affinity pending → confirmed → pendingDeletion → deleted.
 */

export type AffinityState = "pending" | "confirmed" | "pendingDeletion" | "";

export interface BlockAffinity {
  /** Empty for old data: implicitly confirmed. */
  state: AffinityState;
  deleted: boolean;
}

export function decodeAffinity(text: string): BlockAffinity {
  // Calico treats an empty raw value as `{}`.
  const v = text.trim() === "" ? {} : (JSON.parse(text) as { state?: unknown; deleted?: unknown });
  const state =
    v.state === "pending" || v.state === "confirmed" || v.state === "pendingDeletion" ? v.state : "";
  return { state, deleted: v.deleted === true };
}

export function encodeAffinity(state: AffinityState): string {
  return JSON.stringify({ state, deleted: false });
}

/** Confirmed, or implicitly confirmed (no state). Anything else must be treated as not owned yet. */
export function isConfirmed(a: BlockAffinity): boolean {
  return a.state === "confirmed" || a.state === "";
}
