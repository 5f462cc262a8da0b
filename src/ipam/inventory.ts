/**
 * The v3 resources IPAM reads (pools, reservations, nodes, the IPAMConfiguration), behind a
 * small interface so the allocator can run over a ResourceStore or over any other source.
 */
import { kindInfo } from "../api/kinds.js";
import type { Resource } from "../api/meta.js";
import { ResourceNotFoundError } from "../datastore/errors.js";
import type { KeyValue, KVRead, KVStore } from "../datastore/kv.js";
import { decodeResource } from "../datastore/resources/encoding.js";
import { listPrefix, parseResourcePath, resourcePath } from "../datastore/resources/keys.js";
import type { ResourceStore } from "../datastore/types.js";

/** Everything an allocation reads from the inventory, as of one revision. */
export interface InventorySnapshot {
  pools: Resource[];
  reservations: Resource[];
  node: Resource | undefined;
  ipamConfiguration: Resource | undefined;
}

/**
 * The KV reads that fetch an InventorySnapshot, for an inventory kept in the same KV store as
 * IPAM, so that one batched read can fetch them together with blocks and handles.
 */
export interface InventoryReads {
  /** The store the reads go to; the fast path is used only when it is IPAM's own. */
  kv: KVStore;
  reads(node: string): KVRead[];
  /** Decodes the results of `reads` (same order); throws when a value cannot be read. */
  decode(results: KeyValue[][]): InventorySnapshot;
}

export interface IPAMInventory {
  /** Every IPPool, whatever its state. */
  listPools(): Promise<Resource[]>;
  listReservations(): Promise<Resource[]>;
  /** The Node, or undefined when it does not exist. */
  getNode(name: string): Promise<Resource | undefined>;
  /** `IPAMConfiguration/default`, or undefined when absent. */
  getIPAMConfiguration(): Promise<Resource | undefined>;
  /** Creates or updates `IPAMConfiguration/default` with this spec. */
  saveIPAMConfiguration(spec: Record<string, unknown>): Promise<void>;
  /** Present when the inventory lives in IPAM's own KV store (enables the one-read fast path). */
  readonly batch?: InventoryReads;
}

async function orUndefined(p: Promise<Resource>): Promise<Resource | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ResourceNotFoundError) return undefined;
    throw err;
  }
}

const POOL = kindInfo("IPPool")!;
const RESERVATION = kindInfo("IPReservation")!;
const NODE = kindInfo("Node")!;
const IPAM_CONFIGURATION = kindInfo("IPAMConfiguration")!;

function decodeListed(info: typeof POOL, kvs: KeyValue[]): Resource[] {
  const out: Resource[] = [];
  for (const kv of kvs) {
    if (!parseResourcePath(info, kv.key)) continue;
    try {
      out.push(decodeResource(info, kv));
    } catch {
      // Skipped, as ResourceStore.list skips values it cannot read.
    }
  }
  return out;
}

/** The v3 resources under Calico's key layout, read straight from the KV store. */
const storeReads: Omit<InventoryReads, "kv"> = {
  reads: (node) => [
    { prefix: listPrefix(POOL) },
    { prefix: listPrefix(RESERVATION) },
    { key: resourcePath(NODE, { kind: "Node", name: node }) },
    { key: resourcePath(IPAM_CONFIGURATION, { kind: "IPAMConfiguration", name: "default" }) },
  ],
  decode([pools = [], reservations = [], node = [], config = []]) {
    return {
      pools: decodeListed(POOL, pools),
      reservations: decodeListed(RESERVATION, reservations),
      node: node[0] && decodeResource(NODE, node[0]),
      ipamConfiguration: config[0] && decodeResource(IPAM_CONFIGURATION, config[0]),
    };
  },
};

export function inventoryFromStore(store: ResourceStore): IPAMInventory {
  const configKey = { kind: "IPAMConfiguration", name: "default" };
  return {
    batch: { kv: store.kv, ...storeReads },
    listPools: async () => (await store.list("IPPool")).items,
    listReservations: async () => (await store.list("IPReservation")).items,
    getNode: (name) => orUndefined(store.get({ kind: "Node", name })),
    getIPAMConfiguration: () => orUndefined(store.get(configKey)),
    async saveIPAMConfiguration(spec) {
      const existing = await orUndefined(store.get(configKey));
      if (existing) {
        await store.update({ ...existing, spec });
      } else {
        await store.create({
          apiVersion: "projectcalico.org/v3",
          kind: "IPAMConfiguration",
          metadata: { name: "default" },
          spec,
        });
      }
    },
  };
}
