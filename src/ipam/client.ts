/**
 * The IPAM client: Calico's block IPAM over a KVStore, with pools, reservations, nodes and
 * the IPAMConfiguration read from an inventory (normally the v3 ResourceStore).
 */
import { hostname as osHostname } from "node:os";
import type { KVStore } from "../datastore/kv.js";
import type { ResourceStore } from "../datastore/types.js";
import { Assigner, type AssignIPRequest, type AutoAssignRequest, type AutoAssignResult } from "./assign.js";
import { BlockClaims } from "./claims.js";
import { type IPAMConfig, specFromConfig, validateIPAMConfig } from "./config.js";
import { IPAMContext, type IPAMLogger } from "./context.js";
import { type IPAMInventory, inventoryFromStore } from "./inventory.js";
import { type AssignmentAttributes, Queries } from "./query.js";
import { type ReleaseOptions, type ReleaseResult, Releaser } from "./release.js";
import { IPAMStore } from "./store.js";
import type { PoolUtilization } from "./utilization.js";

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
  autoAssign(req: AutoAssignRequest): Promise<AutoAssignResult> {
    return this.#assigner.autoAssign(req, req.hostname ?? this.#hostname);
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
