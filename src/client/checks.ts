/**
 * Cross-object checks of the write pipeline: the rules that need other stored objects
 * (policy tier exists, IP pools do not overlap, a tier is not deleted while in use).
 */
import {
  type PoolRef,
  poolOverlapErrors,
  protectedTier,
  type Resource,
  type ValidationError,
  validateUpdate,
} from "../api/index.js";
import { OperationNotSupportedError } from "../datastore/errors.js";
import type { ResourceStore } from "../datastore/types.js";
import { cidrContains, parseCIDR } from "../lib/net.js";
import { ValidationFailedError } from "./errors.js";
import { policyTier, readDefaults, TIERED_POLICY_KINDS } from "./read-defaults.js";

/** Where IPAM keeps allocation blocks (`…/ipv4/block/10.65.79.0-26`); see the IPAM reference. */
const BLOCK_PREFIX = "/calico/ipam/v2/assignment/";

function fail(errors: ValidationError[]): void {
  if (errors.length > 0) throw new ValidationFailedError(errors);
}

/**
 * A policy may only be created in an existing tier; the store's not-found error says which.
 * Tiers found are added to `known`, and tiers already in it are not looked up again.
 */
export async function checkPolicyTier(
  store: ResourceStore,
  policy: Resource,
  known?: Set<string>,
): Promise<void> {
  if (!TIERED_POLICY_KINDS.has(policy.kind)) return;
  const tier = policyTier(policy);
  if (known?.has(tier)) return;
  await store.get({ kind: "Tier", name: tier });
  known?.add(tier);
}

function poolRef(pool: Resource): PoolRef {
  return { name: pool.metadata.name ?? "", cidr: String(pool.spec?.cidr ?? "") };
}

/** Blocks already allocated inside the pool must have the pool's block size. */
async function checkBlockSizes(store: ResourceStore, pool: Resource): Promise<ValidationError[]> {
  const cidr = parseCIDR(String(pool.spec?.cidr ?? ""));
  const blockSize = pool.spec?.blockSize;
  if (!cidr || typeof blockSize !== "number") return [];
  const family = cidr.family === 4 ? "ipv4" : "ipv6";
  const { kvs } = await store.kv.list(`${BLOCK_PREFIX}${family}/block/`);
  const conflicting = kvs.some(({ key }) => {
    const block = parseCIDR(key.slice(key.lastIndexOf("/") + 1).replace(/-(\d+)$/, "/$1"));
    return block !== undefined && cidrContains(cidr, block) && block.prefix !== blockSize;
  });
  return conflicting
    ? [
        {
          field: "spec.blockSize",
          value: blockSize,
          reason: "IPPool blocksSize conflicts with existing allocations that use a different blockSize",
        },
      ]
    : [];
}

/** Create only: no overlap with another pool, no clash with existing allocation blocks. */
export async function checkPoolCreate(store: ResourceStore, pool: Resource): Promise<void> {
  if (pool.kind !== "IPPool") return;
  const others = (await store.list("IPPool")).items.map(poolRef);
  fail([...poolOverlapErrors(poolRef(pool), others), ...(await checkBlockSizes(store, pool))]);
}

/** Update only: the fields Calico treats as immutable, compared with the stored object. */
export async function checkPoolUpdate(store: ResourceStore, pool: Resource): Promise<void> {
  if (pool.kind !== "IPPool") return;
  const stored = readDefaults(await store.get({ kind: "IPPool", name: pool.metadata.name ?? "" }));
  fail(validateUpdate(stored, pool));
}

/** Protected tiers are never deleted; other tiers only once no policy refers to them. */
export async function checkTierDelete(store: ResourceStore, name: string): Promise<void> {
  if (protectedTier(name)) {
    throw new OperationNotSupportedError("Delete", name, `Cannot delete ${name} tier`);
  }
  for (const kind of TIERED_POLICY_KINDS) {
    const { items } = await store.list(kind);
    if (items.some((policy) => policyTier(policy) === name)) {
      throw new OperationNotSupportedError("delete", name, "Cannot delete a non-empty tier");
    }
  }
}
