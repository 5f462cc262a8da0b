/**
 * IP pools as IPAM sees them: Calico's read-time defaults applied, the "enabled" filter, and
 * the choice of pools for a request (requested pools, nodeSelector, namespaceSelector,
 * assignmentMode, allowedUses).
 */
import type { Resource } from "../api/meta.js";
import {
  type CIDR,
  cidrContains,
  cidrContainsIP,
  formatCIDR,
  type IPAddr,
  isStrictlyMasked,
  parseCIDR,
} from "../lib/net.js";
import { parseSelector, type Selector } from "../selector/index.js";
import { InvalidIPAMRequestError, NoQualifiedPoolError } from "./errors.js";

export type IntendedUse = "Workload" | "Tunnel" | "LoadBalancer";

export interface IPPoolInfo {
  name: string;
  cidr: CIDR;
  /** Canonical CIDR text. */
  cidrText: string;
  blockSize: number;
  disabled: boolean;
  nodeSelector: string;
  namespaceSelector: string;
  allowedUses: IntendedUse[];
  assignmentMode: "Automatic" | "Manual";
  /** Being deleted, or marked `Allocatable=False` in its status: not used for new allocations. */
  unallocatable: boolean;
}

const selectorCache = new Map<string, Selector | null>();

function compiled(text: string): Selector | null {
  let s = selectorCache.get(text);
  if (s === undefined) {
    try {
      s = parseSelector(text);
    } catch {
      s = null;
    }
    selectorCache.set(text, s);
  }
  return s;
}

/** Empty selector matches everything; an unparseable one matches nothing. */
export function selectorMatches(text: string, labels: Record<string, string>): boolean {
  if (text.trim() === "") return true;
  return compiled(text)?.matches(labels) ?? false;
}

function notAllocatable(r: Resource): boolean {
  const conditions = (r.status as { conditions?: unknown } | undefined)?.conditions;
  if (r.metadata.deletionTimestamp) return true;
  if (!Array.isArray(conditions)) return false;
  return conditions.some(
    (c) =>
      typeof c === "object" &&
      c !== null &&
      (c as { type?: unknown }).type === "Allocatable" &&
      (c as { status?: unknown }).status === "False",
  );
}

/** An IPPool resource with Calico's defaults applied; undefined when its CIDR is unusable. */
export function poolFromResource(r: Resource): IPPoolInfo | undefined {
  const spec = (r.spec ?? {}) as Record<string, unknown>;
  const cidr = typeof spec.cidr === "string" ? parseCIDR(spec.cidr) : undefined;
  if (!cidr || !isStrictlyMasked(cidr)) return undefined;
  const blockSize =
    typeof spec.blockSize === "number" && spec.blockSize > 0 ? spec.blockSize : cidr.family === 4 ? 26 : 122;
  if (blockSize < cidr.prefix || blockSize > (cidr.family === 4 ? 32 : 128)) return undefined;
  const uses = Array.isArray(spec.allowedUses)
    ? spec.allowedUses.filter(
        (u): u is IntendedUse => u === "Workload" || u === "Tunnel" || u === "LoadBalancer",
      )
    : [];
  return {
    name: r.metadata.name ?? "",
    cidr,
    cidrText: formatCIDR(cidr),
    blockSize,
    disabled: spec.disabled === true,
    nodeSelector:
      typeof spec.nodeSelector === "string" && spec.nodeSelector !== "" ? spec.nodeSelector : "all()",
    namespaceSelector: typeof spec.namespaceSelector === "string" ? spec.namespaceSelector : "",
    allowedUses: uses.length > 0 ? uses : ["Workload", "Tunnel"],
    assignmentMode: spec.assignmentMode === "Manual" ? "Manual" : "Automatic",
    unallocatable: notAllocatable(r),
  };
}

/** Pools in name order (the order Calico's key-ordered list yields). */
export function poolsFromResources(resources: Iterable<Resource>): IPPoolInfo[] {
  const out: IPPoolInfo[] = [];
  for (const r of resources) {
    const p = poolFromResource(r);
    if (p) out.push(p);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function enabledPools(pools: readonly IPPoolInfo[], family?: 4 | 6): IPPoolInfo[] {
  return pools.filter(
    (p) => !p.disabled && !p.unallocatable && (family === undefined || p.cidr.family === family),
  );
}

export function poolContainingIP(pools: readonly IPPoolInfo[], ip: IPAddr): IPPoolInfo | undefined {
  return pools.find((p) => cidrContainsIP(p.cidr, ip));
}

export function poolContainingCIDR(pools: readonly IPPoolInfo[], cidr: CIDR): IPPoolInfo | undefined {
  return pools.find((p) => cidrContains(p.cidr, cidr));
}

export interface PoolSelectionInput {
  /** All pools (any state, any family). */
  pools: readonly IPPoolInfo[];
  family: 4 | 6;
  /** Pool CIDRs the caller asked for; empty means "choose automatically". */
  requested?: readonly string[];
  nodeName: string;
  nodeLabels: Record<string, string>;
  namespaceLabels?: Record<string, string>;
  use: IntendedUse;
}

/**
 * The pools a request may allocate from, in name order. Explicitly requested pools bypass the
 * selectors and assignmentMode (Calico's back-compat rule); the intended use always applies.
 */
export function determinePools(input: PoolSelectionInput): IPPoolInfo[] {
  const enabled = enabledPools(input.pools, input.family);
  if (enabled.length === 0) {
    throw new NoQualifiedPoolError("cannot find a qualified ippool");
  }
  let chosen: IPPoolInfo[];
  if (input.requested && input.requested.length > 0) {
    chosen = input.requested.map((text) => {
      const c = parseCIDR(text, { allowBareIP: true });
      const canonical = c ? formatCIDR(c) : text;
      const pool = enabled.find((p) => p.cidrText === canonical);
      if (!pool)
        throw new InvalidIPAMRequestError(`the given pool (${text}) does not exist, or is not enabled`);
      return pool;
    });
  } else {
    const nsLabels = input.namespaceLabels ?? {};
    chosen = enabled.filter(
      (p) =>
        p.assignmentMode === "Automatic" &&
        selectorMatches(p.nodeSelector, input.nodeLabels) &&
        selectorMatches(p.namespaceSelector, nsLabels),
    );
  }
  if (chosen.length === 0) {
    throw new NoQualifiedPoolError(`no configured Calico pools for node ${input.nodeName}`);
  }
  const usable = chosen.filter((p) => p.allowedUses.includes(input.use));
  if (usable.length === 0) {
    throw new NoQualifiedPoolError(
      `cannot find a qualified ippool: no pools match the required use (${input.use})`,
    );
  }
  return usable;
}
