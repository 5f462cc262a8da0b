/**
 * CalicoClient: Calico's "clientv3" role. Every write goes through the same pipeline —
 * defaults, validation, cross-object checks, canonical form, compare-and-swap store — and
 * every read gets the read-side defaults. Components (calicoctl, CNI, calico-node) share it so
 * that a resource is accepted or refused the same way whoever writes it.
 */
import type { Resource, ResourceKey } from "../api/index.js";
import type { ListOptions, ResourceList, ResourceStore } from "../datastore/types.js";
import { checkPolicyTier, checkPoolCreate, checkPoolUpdate, checkTierDelete } from "./checks.js";
import { ensureInitialized, type InitializeOptions } from "./initialize.js";
import { prepareForWrite } from "./prepare.js";
import { listDefaults, readDefaults } from "./read-defaults.js";

export interface CalicoClientOptions {
  /**
   * Releases the block affinities inside a pool's CIDR (IPAM's job). Called when an IP pool is
   * deleted, after it has been disabled and before its key is removed.
   */
  releasePoolAffinities?: (cidr: string) => Promise<void>;
  /**
   * Pause between disabling a pool and releasing its affinities, giving allocations already
   * under way time to finish. Calico waits 500 ms.
   */
  poolDrainMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Remember the tiers seen to exist instead of looking each one up for every policy created.
   * Meant for short-lived clients writing many policies (calicoctl): a tier deleted by someone
   * else meanwhile would go unnoticed, a race Calico's own check has anyway.
   */
  cacheTierLookups?: boolean;
}

export interface DeleteOptions {
  /** Delete only if the stored object is still at this version. */
  resourceVersion?: string;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class CalicoClient {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly poolDrainMs: number;
  private readonly knownTiers: Set<string> | undefined;

  constructor(
    readonly store: ResourceStore,
    private readonly opts: CalicoClientOptions = {},
  ) {
    this.sleep = opts.sleep ?? defaultSleep;
    this.poolDrainMs = opts.poolDrainMs ?? 500;
    this.knownTiers = opts.cacheTierLookups ? new Set() : undefined;
  }

  async create(resource: Resource): Promise<Resource> {
    const prepared = prepareForWrite(resource);
    await checkPolicyTier(this.store, prepared, this.knownTiers);
    await checkPoolCreate(this.store, prepared);
    return readDefaults(await this.store.create(prepared));
  }

  /** Compare-and-swap on `metadata.resourceVersion`, which must be set. */
  async update(resource: Resource): Promise<Resource> {
    const prepared = prepareForWrite(resource);
    await checkPoolUpdate(this.store, prepared);
    return readDefaults(await this.store.update(prepared));
  }

  async delete(key: ResourceKey, opts: DeleteOptions = {}): Promise<Resource> {
    if (key.kind === "Tier") {
      await checkTierDelete(this.store, key.name);
      this.knownTiers?.delete(key.name);
    }
    if (key.kind === "IPPool") return this.deletePool(key, opts);
    return readDefaults(await this.store.delete(key, opts));
  }

  async get(key: ResourceKey, opts: { revision?: string } = {}): Promise<Resource> {
    return readDefaults(await this.store.get(key, opts));
  }

  async list(kind: string, opts: ListOptions = {}): Promise<ResourceList> {
    const listed = await this.store.list(kind, opts);
    return { ...listed, items: listed.items.map(listDefaults) };
  }

  /** ClusterInformation `default` and the protected tiers; see initialize.ts. */
  ensureInitialized(opts: InitializeOptions = {}): Promise<void> {
    return ensureInitialized(this.store, opts);
  }

  /**
   * An enabled pool is disabled first so IPAM stops allocating from it; then its affinities
   * are released and the pool removed. A resourceVersion precondition applies to the first
   * write, since that write changes the version.
   */
  private async deletePool(key: ResourceKey, opts: DeleteOptions): Promise<Resource> {
    const pool = await this.get(key);
    let resourceVersion = opts.resourceVersion;
    if (pool.spec?.disabled !== true) {
      const metadata = {
        ...pool.metadata,
        resourceVersion: resourceVersion || pool.metadata.resourceVersion,
      };
      await this.update({ ...pool, metadata, spec: { ...pool.spec, disabled: true } });
      resourceVersion = undefined;
      if (this.opts.releasePoolAffinities) await this.sleep(this.poolDrainMs);
    }
    await this.opts.releasePoolAffinities?.(String(pool.spec?.cidr ?? ""));
    return readDefaults(await this.store.delete(key, resourceVersion ? { resourceVersion } : {}));
  }
}
