/**
 * The v3 resources IPAM reads (pools, reservations, nodes, the IPAMConfiguration), behind a
 * small interface so the allocator can run over a ResourceStore or over any other source.
 */
import type { Resource } from "../api/meta.js";
import { ResourceNotFoundError } from "../datastore/errors.js";
import type { ResourceStore } from "../datastore/types.js";

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
}

async function orUndefined(p: Promise<Resource>): Promise<Resource | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ResourceNotFoundError) return undefined;
    throw err;
  }
}

export function inventoryFromStore(store: ResourceStore): IPAMInventory {
  const configKey = { kind: "IPAMConfiguration", name: "default" };
  return {
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
