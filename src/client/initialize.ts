/**
 * EnsureInitialized: the objects every Calico datastore has after start of day — the
 * ClusterInformation singleton and the three protected tiers. Safe to call concurrently from
 * several processes: creates race through compare-and-swap and the loser re-reads.
 */
import { randomUUID } from "node:crypto";
import { API_VERSION, canonicalize, PROTECTED_TIERS, type Resource } from "../api/index.js";
import {
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  UpdateConflictError,
} from "../datastore/errors.js";
import type { ResourceStore } from "../datastore/types.js";

export interface InitializeOptions {
  /** Written when given and different from the stored one (calico-node passes its version). */
  calicoVersion?: string;
  /** Comma-separated types merged into the stored list (e.g. `typha`, `k8s,bgp`). */
  clusterType?: string;
}

const CLUSTER_INFO = { kind: "ClusterInformation", name: "default" } as const;
const MAX_ATTEMPTS = 5;

/** Calico's cluster GUID: a random UUID's 16 bytes in hex, no dashes. */
export function newClusterGUID(): string {
  return randomUUID().replaceAll("-", "");
}

function splitTypes(list: string): string[] {
  return list
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
}

/** The stored types followed by any new ones, each once. */
export function mergeClusterTypes(stored: string, added: string): string {
  const types = splitTypes(stored);
  for (const t of splitTypes(added)) if (!types.includes(t)) types.push(t);
  return types.join(",");
}

/** The spec after filling what is missing; undefined when nothing changes. */
export function updatedClusterSpec(
  spec: Record<string, unknown>,
  opts: InitializeOptions,
): Record<string, unknown> | undefined {
  const next = { ...spec };
  if (typeof next.clusterGUID !== "string" || next.clusterGUID === "") next.clusterGUID = newClusterGUID();
  if (typeof next.datastoreReady !== "boolean") next.datastoreReady = true;
  if (opts.calicoVersion && next.calicoVersion !== opts.calicoVersion)
    next.calicoVersion = opts.calicoVersion;
  if (opts.clusterType) {
    const merged = mergeClusterTypes(
      typeof next.clusterType === "string" ? next.clusterType : "",
      opts.clusterType,
    );
    if (merged !== next.clusterType) next.clusterType = merged;
  }
  const changed = Object.keys(next).some((k) => next[k] !== spec[k]);
  return changed ? next : undefined;
}

async function getOptional(store: ResourceStore): Promise<Resource | undefined> {
  try {
    return await store.get(CLUSTER_INFO);
  } catch (err) {
    if (err instanceof ResourceNotFoundError) return undefined;
    throw err;
  }
}

async function ensureClusterInformation(store: ResourceStore, opts: InitializeOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const existing = await getOptional(store);
    try {
      if (!existing) {
        const spec = updatedClusterSpec({}, opts) ?? {};
        await store.create(
          canonicalize({
            apiVersion: API_VERSION,
            kind: CLUSTER_INFO.kind,
            metadata: { name: "default" },
            spec,
          }),
        );
        return;
      }
      const spec = updatedClusterSpec(existing.spec ?? {}, opts);
      if (!spec) return;
      await store.update(canonicalize({ ...existing, spec }));
      return;
    } catch (err) {
      const raced = err instanceof ResourceAlreadyExistsError || err instanceof UpdateConflictError;
      if (!raced || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

async function ensureTier(store: ResourceStore, tier: (typeof PROTECTED_TIERS)[number]): Promise<void> {
  try {
    await store.create(
      canonicalize({
        apiVersion: API_VERSION,
        kind: "Tier",
        metadata: { name: tier.name },
        spec: { order: tier.order, defaultAction: tier.defaultAction },
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceAlreadyExistsError)) throw err;
  }
}

export async function ensureInitialized(store: ResourceStore, opts: InitializeOptions = {}): Promise<void> {
  await Promise.all([
    ensureClusterInformation(store, opts),
    ...PROTECTED_TIERS.map((t) => ensureTier(store, t)),
  ]);
}
