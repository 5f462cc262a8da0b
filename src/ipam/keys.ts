/**
 * Calico's etcd key layout for IPAM data (`/calico/ipam/v2/...`). A CIDR inside a key is its
 * canonical masked text with the `/` replaced by `-`.
 */
import { type CIDR, formatCIDR, networkAddress, parseCIDR } from "../lib/net.js";

export const IPAM_ROOT = "/calico/ipam/v2/";
export const BLOCK_PREFIX = `${IPAM_ROOT}assignment/`;
export const HANDLE_PREFIX = `${IPAM_ROOT}handle/`;
export const CONFIG_KEY = `${IPAM_ROOT}config`;

/** Who a block is affine to: a node (`host`) or a virtual owner such as `load-balancer`. */
export interface AffinityOwner {
  type: "host" | "virtual";
  name: string;
}

export function hostOwner(name: string): AffinityOwner {
  return { type: "host", name };
}

/** The form stored in a block's `affinity` field: `host:<node>`. */
export function ownerString(owner: AffinityOwner): string {
  return `${owner.type}:${owner.name}`;
}

export function parseOwnerString(text: string | null | undefined): AffinityOwner | undefined {
  if (!text) return undefined;
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  const type = text.slice(0, colon);
  if (type !== "host" && type !== "virtual") return undefined;
  return { type, name: text.slice(colon + 1) };
}

function cidrSegment(cidr: CIDR): string {
  return formatCIDR(cidr).replace("/", "-");
}

function parseCidrSegment(segment: string): CIDR | undefined {
  const c = parseCIDR(segment.replace("-", "/"));
  return c && { ...c, address: networkAddress(c) };
}

export function blockKey(cidr: CIDR): string {
  return `${BLOCK_PREFIX}ipv${cidr.family}/block/${cidrSegment(cidr)}`;
}

const BLOCK_KEY = /^\/calico\/ipam\/v2\/assignment\/ipv[46]\/block\/([^/]+)$/;

export function parseBlockKey(key: string): CIDR | undefined {
  const m = BLOCK_KEY.exec(key);
  return m?.[1] === undefined ? undefined : parseCidrSegment(m[1]);
}

export function affinityKey(owner: AffinityOwner, cidr: CIDR): string {
  return `${IPAM_ROOT}${owner.type}/${owner.name}/ipv${cidr.family}/block/${cidrSegment(cidr)}`;
}

/** Prefix listing one owner's affinities, of one family or of both. */
export function affinityPrefix(owner: AffinityOwner, family?: 4 | 6): string {
  const base = `${IPAM_ROOT}${owner.type}/${owner.name}/`;
  return family ? `${base}ipv${family}/block/` : base;
}

const AFFINITY_KEY = /^\/calico\/ipam\/v2\/(host|virtual)\/([^/]+)\/ipv[46]\/block\/([^/]+)$/;

export function parseAffinityKey(key: string): { owner: AffinityOwner; cidr: CIDR } | undefined {
  const m = AFFINITY_KEY.exec(key);
  if (!m || m[3] === undefined) return undefined;
  const cidr = parseCidrSegment(m[3]);
  return cidr && { owner: { type: m[1] as AffinityOwner["type"], name: m[2] ?? "" }, cidr };
}

export function handleKey(handleId: string): string {
  return `${HANDLE_PREFIX}${handleId}`;
}

/** The legacy per-host directory marker removed by RemoveIPAMHost. */
export function ipamHostKey(host: string): string {
  return `${IPAM_ROOT}host/${host}`;
}
