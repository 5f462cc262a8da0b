/**
 * What every IPAM operation shares: the store, the resource inventory, the clock, a logger,
 * and the per-request snapshot of configuration, pools and reservations.
 */
import { ResourceNotFoundError } from "../datastore/errors.js";
import { configFromSpec, DEFAULT_IPAM_CONFIG, type IPAMConfig } from "./config.js";
import type { IPAMInventory } from "./inventory.js";
import { type IPPoolInfo, poolsFromResources } from "./pools.js";
import { Reservations } from "./reservations.js";
import type { GCContext, IPAMStore } from "./store.js";

/** pino-compatible subset. */
export interface IPAMLogger {
  warn(msg: string): void;
  debug(msg: string): void;
}

const silent: IPAMLogger = { warn() {}, debug() {} };

export interface IPAMContextOptions {
  store: IPAMStore;
  inventory: IPAMInventory;
  /** Injectable for tests of cooldown and reclaim ages. */
  clock?: () => Date;
  logger?: IPAMLogger;
}

export class IPAMContext {
  readonly store: IPAMStore;
  readonly inventory: IPAMInventory;
  readonly clock: () => Date;
  readonly log: IPAMLogger;

  constructor(opts: IPAMContextOptions) {
    this.store = opts.store;
    this.inventory = opts.inventory;
    this.clock = opts.clock ?? (() => new Date());
    this.log = opts.logger ?? silent;
  }

  /**
   * The v3 `IPAMConfiguration/default` when it exists (so `calicoctl apply` and
   * `calicoctl ipam configure` land in one place), else Calico's v2 key, else the defaults.
   */
  async config(): Promise<IPAMConfig> {
    // Both are read at once: one round trip instead of two when the v3 object is absent.
    const [resource, stored] = await Promise.all([
      this.inventory.getIPAMConfiguration(),
      this.store.getConfig(),
    ]);
    if (resource) return configFromSpec(resource.spec as Record<string, unknown> | undefined);
    return stored ?? { ...DEFAULT_IPAM_CONFIG };
  }

  async pools(): Promise<IPPoolInfo[]> {
    return poolsFromResources(await this.inventory.listPools());
  }

  async reservations(): Promise<Reservations> {
    return Reservations.fromResources(await this.inventory.listReservations());
  }

  /** Labels of a Node that must exist (AutoAssign and AssignIP require the Node object). */
  async nodeLabels(name: string): Promise<Record<string, string>> {
    const node = await this.inventory.getNode(name);
    if (!node) throw new ResourceNotFoundError(`Node(${name})`);
    return { ...(node.metadata.labels ?? {}) };
  }

  gc(config: IPAMConfig): GCContext {
    return { cooldownSeconds: config.ipCooldownSeconds, now: this.clock() };
  }
}
