/** Test fixtures for IPAM on a real etcd: an in-memory inventory and clients with their own connections. */
import type { Resource } from "../../src/api/meta.js";
import { EtcdKV } from "../../src/datastore/index.js";
import { IPAMClient } from "../../src/ipam/client.js";
import type { IPAMInventory } from "../../src/ipam/inventory.js";

export class FakeInventory implements IPAMInventory {
  pools: Resource[] = [];
  reservations: Resource[] = [];
  nodes = new Map<string, Resource>();
  ipamConfiguration: Resource | undefined;

  addPool(name: string, spec: Record<string, unknown>): this {
    this.pools.push({ apiVersion: "projectcalico.org/v3", kind: "IPPool", metadata: { name }, spec });
    return this;
  }

  addNode(name: string, labels: Record<string, string> = {}): this {
    this.nodes.set(name, {
      apiVersion: "projectcalico.org/v3",
      kind: "Node",
      metadata: { name, labels },
      spec: {},
    });
    return this;
  }

  reserve(name: string, cidrs: string[]): this {
    this.reservations.push({
      apiVersion: "projectcalico.org/v3",
      kind: "IPReservation",
      metadata: { name },
      spec: { reservedCIDRs: cidrs },
    });
    return this;
  }

  async listPools() {
    return this.pools;
  }
  async listReservations() {
    return this.reservations;
  }
  async getNode(name: string) {
    return this.nodes.get(name);
  }
  async getIPAMConfiguration() {
    return this.ipamConfiguration;
  }
  async saveIPAMConfiguration(spec: Record<string, unknown>) {
    this.ipamConfiguration = {
      apiVersion: "projectcalico.org/v3",
      kind: "IPAMConfiguration",
      metadata: { name: "default" },
      spec,
    };
  }
}

/** Opens clients that each own an etcd connection; `closeAll` closes them. */
export class ClientFactory {
  readonly #kvs: EtcdKV[] = [];
  constructor(readonly endpoint: string) {}

  kv(): EtcdKV {
    const kv = new EtcdKV({ endpoints: [this.endpoint] });
    this.#kvs.push(kv);
    return kv;
  }

  client(inventory: IPAMInventory, opts: { host?: string; clock?: () => Date } = {}): IPAMClient {
    return new IPAMClient({
      kv: this.kv(),
      inventory,
      defaultHostname: opts.host ?? "node-a",
      clock: opts.clock,
    });
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#kvs.splice(0).map((kv) => kv.close()));
  }
}

/** Clears every key under /calico/ between tests. */
export async function wipe(kv: EtcdKV): Promise<void> {
  const { kvs } = await kv.list("/calico/");
  await Promise.all(kvs.map((k) => kv.delete(k.key)));
}

/** Address part of `a.b.c.d/26`. */
export function addr(cidr: string): string {
  return cidr.split("/")[0] ?? cidr;
}
