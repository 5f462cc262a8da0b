/**
 * IPAM allocation blocks (`/calico/ipam/v2/assignment/...`) → what routing needs: the block's
 * CIDR, the node it is affine to, and addresses in it that belong to some other node.
 */
import { type CIDR, familyBits, formatCIDR, formatIP, networkAddress, parseCIDR } from "../../../lib/net.js";
import { ModelConversionError } from "./rules.js";
import type { ModelBlock } from "./types.js";

export const IPAM_BLOCK_PREFIX = "/calico/ipam/v2/assignment/";

interface RawAttribute {
  secondary?: Record<string, string> | null;
}

interface RawBlock {
  cidr?: unknown;
  affinity?: unknown;
  allocations?: unknown;
  attributes?: unknown;
  deleted?: unknown;
}

function addressAt(block: CIDR, ordinal: number): string {
  const ip = formatIP({ family: block.family, value: networkAddress(block) + BigInt(ordinal) });
  return `${ip}/${familyBits(block.family)}`;
}

/** Accepts the decoded JSON object or its text; returns null for a soft-deleted block. */
export function ipamBlockToModel(value: unknown): ModelBlock | null {
  const raw = (typeof value === "string" ? JSON.parse(value) : value) as RawBlock;
  if (typeof raw !== "object" || raw === null) throw new ModelConversionError("IPAM block is not an object");
  if (raw.deleted === true) return null;
  const cidr = typeof raw.cidr === "string" ? parseCIDR(raw.cidr) : undefined;
  if (!cidr) throw new ModelConversionError("IPAM block without a valid CIDR");

  const block: ModelBlock = { cidr: formatCIDR(cidr), borrowed: new Map() };
  if (typeof raw.affinity === "string" && raw.affinity.startsWith("host:")) {
    block.node = raw.affinity.slice("host:".length);
  }
  const attributes = Array.isArray(raw.attributes) ? (raw.attributes as RawAttribute[]) : [];
  const allocations = Array.isArray(raw.allocations) ? (raw.allocations as unknown[]) : [];
  allocations.forEach((attrIndex, ordinal) => {
    if (typeof attrIndex !== "number") return;
    const owner = attributes[attrIndex]?.secondary?.node;
    if (owner && owner !== block.node) block.borrowed.set(addressAt(cidr, ordinal), owner);
  });
  return block;
}
