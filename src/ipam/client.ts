/**
 * The IPAM client: Calico's block IPAM over a KVStore, with pools, reservations, nodes and
 * the IPAMConfiguration read from an inventory (normally the v3 ResourceStore).
 */
import { hostname as osHostname } from "node:os";
import { ResourceNotFoundError } from "../datastore/errors.js";
import type { KVStore } from "../datastore/kv.js";
import type { ResourceStore } from "../datastore/types.js";
import { Assigner, type AssignIPRequest, type AutoAssignRequest, type AutoAssignResult } from "./assign.js";
import { BlockClaims } from "./claims.js";
import { type IPAMConfig, specFromConfig, validateIPAMConfig } from "./config.js";
import { IPAMContext, type IPAMLogger } from "./context.js";
import { type FastMemory, fastAutoAssign, fastReleaseHandles, recordHints } from "./fastpath.js";
import type { BlockHints } from "./hints.js";
import { type InventoryReads, type IPAMInventory, inventoryFromStore } from "./inventory.js";
import { type AssignmentAttributes, Queries } from "./query.js";
import { type ReleaseOptions, type ReleaseResult, Releaser } from "./release.js";
import { IPAMStore } from "./store.js";
import type { PoolUtilization } from "./utilization.js";
import { HostViews } from "./views.js";
import { WrittenBlocks } from "./written.js";

export interface IPAMClientOptions {
  kv: KVStore;
  inventory: IPAMInventory;
  /** Host used when a request names none; defaults to the lower-cased OS hostname. */
  defaultHostname?: string;
  clock?: () => Date;
  logger?: IPAMLogger;
}

export class IPAMClient {
  readonly store: IPAMStore;
  readonly #ctx: IPAMContext;
  readonly #assigner: Assigner;
  readonly #releaser: Releaser;
  readonly #queries: Queries;
  readonly #hostname: string;
  /** What the fast path saw and wrote, so the next fast allocation can be one transaction. */
  readonly #memory: FastMemory = { written: new WrittenBlocks(), views: new HostViews() };

  constructor(opts: IPAMClientOptions) {
    this.store = new IPAMStore(opts.kv);
    this.#ctx = new IPAMContext({
      store: this.store,
      inventory: opts.inventory,
      clock: opts.clock,
      logger: opts.logger,
    });
    const claims = new BlockClaims(this.#ctx);
    this.#assigner = new Assigner(this.#ctx, claims);
    this.#releaser = new Releaser(this.#ctx, claims);
    this.#queries = new Queries(this.#ctx);
    this.#hostname = opts.defaultHostname ?? osHostname().trim().toLowerCase();
  }

  /** A client over a v3 ResourceStore and its KV store. */
  static fromResourceStore(
    store: ResourceStore,
    opts: Omit<IPAMClientOptions, "kv" | "inventory"> = {},
  ): IPAMClient {
    return new IPAMClient({ ...opts, kv: store.kv, inventory: inventoryFromStore(store) });
  }

  get inventory(): IPAMInventory {
    return this.#ctx.inventory;
  }

  /**
   * Assigns `num4` IPv4 and `num6` IPv6 addresses. A short result is not an error: compare
   * `ips.length` with `numRequested` (see `partialFulfillmentMessage`). Failures throw
   * AutoAssignError carrying what was assigned before the failure.
   */
  async autoAssign(req: AutoAssignRequest, opts: { hints?: BlockHints } = {}): Promise<AutoAssignResult> {
    const host = req.hostname ?? this.#hostname;
    const batch = this.#batch();
    if (opts.hints && batch) {
      const fast = await fastAutoAssign(
        this.store.kv,
        batch,
        req,
        host,
        opts.hints,
        this.#ctx.clock(),
        this.#memory,
      );
      if (fast) return fast;
    }
    const result = await this.#assigner.autoAssign(req, host);
    if (opts.hints) recordHints(opts.hints, host, result);
    return result;
  }

  /** The inventory's batched reads, when they go to IPAM's own store (the fast path needs one snapshot). */
  #batch(): InventoryReads | undefined {
    const batch = this.#ctx.inventory.batch;
    return batch && batch.kv === this.store.kv ? batch : undefined;
  }

  /**
   * Releases each handle's addresses (like `releaseByHandle` for each in turn) and returns them
   * per handle, undefined for a handle that does not exist. With hints naming the blocks the
   * handles live in, the common case is one read and one transaction.
   */
  async releaseHandles(
    handleIds: readonly string[],
    opts: { hints?: BlockHints; hostname?: string } = {},
  ): Promise<Map<string, string[] | undefined>> {
    handleIds = [...new Set(handleIds)];
    const batch = this.#batch();
    if (opts.hints && batch) {
      const host = opts.hostname ?? this.#hostname;
      const fast = await fastReleaseHandles(
        this.store.kv,
        batch,
        handleIds,
        host,
        opts.hints,
        this.#ctx.clock(),
        this.#memory,
      );
      if (fast) return fast;
    }
    const out = new Map<string, string[] | undefined>();
    for (const id of handleIds) {
      try {
        out.set(id, await this.#releaser.releaseByHandle(id));
      } catch (err) {
        if (!(err instanceof ResourceNotFoundError)) throw err;
        out.set(id, undefined);
      }
    }
    return out;
  }

  /** Assigns one specific address; AddressInUseError when it is taken. */
  assignIP(req: AssignIPRequest): Promise<void> {
    return this.#assigner.assignIP(req, req.hostname ?? this.#hostname);
  }

  releaseIPs(requests: readonly (string | ReleaseOptions)[]): Promise<ReleaseResult> {
    return this.#releaser.releaseIPs(requests);
  }

  /** Releases a handle's addresses; ResourceNotFoundError when the handle does not exist. */
  releaseByHandle(handleId: string, opts?: { sequenceNumber?: bigint }): Promise<string[]> {
    return this.#releaser.releaseByHandle(handleId, opts);
  }

  getAssignmentAttributes(ip: string): Promise<AssignmentAttributes> {
    return this.#queries.getAssignmentAttributes(ip);
  }

  ipsByHandle(handleId: string): Promise<string[]> {
    return this.#queries.ipsByHandle(handleId);
  }

  getUtilization(pools?: readonly string[]): Promise<PoolUtilization[]> {
    return this.#queries.getUtilization(pools);
  }

  releaseHostAffinities(host: string, mustBeEmpty = false): Promise<void> {
    return this.#releaser.releaseHostAffinities(host, mustBeEmpty);
  }

  releaseAffinity(cidr: string, host: string, mustBeEmpty = false): Promise<void> {
    return this.#releaser.releaseAffinity(cidr, host, mustBeEmpty);
  }

  releasePoolAffinities(poolCidr: string): Promise<void> {
    return this.#releaser.releasePoolAffinities(poolCidr);
  }

  removeIPAMHost(host: string): Promise<void> {
    return this.#releaser.removeIPAMHost(host);
  }

  getIPAMConfig(): Promise<IPAMConfig> {
    return this.#ctx.config();
  }

  /**
   * Validates and stores the configuration in `IPAMConfiguration/default` and mirrors it to
   * Calico's `/calico/ipam/v2/config` so Calico-compatible readers agree.
   */
  async setIPAMConfig(cfg: IPAMConfig): Promise<void> {
    validateIPAMConfig(cfg);
    await this.#ctx.inventory.saveIPAMConfiguration(specFromConfig(cfg));
    await this.store.putConfig(cfg);
  }
}
