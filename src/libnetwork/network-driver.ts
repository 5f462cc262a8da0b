/**
 * The `calico` network driver. A Docker network is a Calico profile named after it (members
 * accept traffic from each other; policy selects them by the label the profile applies); an
 * endpoint is a WorkloadEndpoint plus a `cali…` veth whose other end Docker moves into the
 * container, routed through the 169.254.1.1 gateway that proxy ARP answers. All state lives in
 * the datastore and the kernel, so a restarted driver carries on where the old one stopped.
 */
import { randomBytes } from "node:crypto";
import type { Resource } from "../api/meta.js";
import { CalicoClient } from "../client/index.js";
import { hostCIDR, IPV4_GATEWAY, isV6, removeHostLink, setupHostVethPair } from "../cni/index.js";
import {
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  type ResourceStore,
  UpdateConflictError,
} from "../datastore/index.js";
import type { LibnetworkConfig } from "./config.js";
import type { DockerApi } from "./docker-api.js";
import {
  buildEndpoint,
  calicoLabels,
  dockerNetworkProfile,
  endpointKey,
  withContainerLabels,
  withNetworkIds,
} from "./endpoint.js";
import {
  type CreateEndpointRequest,
  type CreateNetworkRequest,
  checkCalicoIpam,
  checkId,
  checkNetworkOptions,
  DriverError,
  type EndpointRequest,
  hostIfname,
  macFromBytes,
  networkIdsOf,
  tempIfname,
} from "./protocol.js";

export interface DriverLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class NetworkDriver {
  readonly #client: CalicoClient;
  readonly #names = new Map<string, string>();
  /** Background work (profile creation, label copying), awaited by `idle()`. */
  readonly #pending = new Set<Promise<void>>();

  constructor(
    private readonly store: ResourceStore,
    private readonly config: LibnetworkConfig,
    private readonly docker: DockerApi,
    private readonly log: DriverLog,
  ) {
    this.#client = new CalicoClient(store);
  }

  capabilities() {
    // "global" would make Docker 20.10 demand a swarm; each daemon keeps its own networks.
    return { Scope: "local", ConnectivityScope: "local" };
  }

  private background(what: string, task: () => Promise<void>): void {
    const p = task()
      .catch((err: Error) => this.log.warn({ error: err.message }, `${what} failed`))
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Resolves once no background work is in flight (used on shutdown and by tests). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async createNetwork(req: CreateNetworkRequest): Promise<Record<string, never>> {
    const id = checkId("NetworkID", req.NetworkID);
    checkNetworkOptions(req.Options);
    checkCalicoIpam(req);
    // Docker stores the network (and so its name) only after this call returns.
    if (this.config.createProfiles)
      this.background("creating the network's profile", async () => {
        await this.ensureProfile(id, 10_000);
      });
    this.log.info({ network: id }, "created network");
    return {};
  }

  private async networkName(id: string, waitMs: number): Promise<string> {
    const cached = this.#names.get(id);
    if (cached) return cached;
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        const name = (await this.docker.network(id)).Name;
        this.#names.set(id, name);
        return name;
      } catch (err) {
        if (Date.now() >= deadline)
          throw new DriverError(`cannot find the name of Docker network ${id}: ${(err as Error).message}`);
      }
      await sleep(100);
    }
  }

  /**
   * The network's profile, created if missing, with this network recorded on it; returns its
   * name. A profile the driver did not create is used as it is.
   */
  private async ensureProfile(id: string, waitMs: number): Promise<string> {
    const name = await this.networkName(id, waitMs);
    for (let attempt = 0; attempt < 10; attempt++) {
      let existing: Resource | undefined;
      try {
        existing = await this.store.get({ kind: "Profile", name });
      } catch (err) {
        if (!(err instanceof ResourceNotFoundError)) throw err;
      }
      try {
        if (!existing) {
          await this.#client.create(dockerNetworkProfile(name, [id]));
          this.log.info({ profile: name, network: id }, "created profile");
          return name;
        }
        const ids = networkIdsOf(existing.metadata.annotations);
        if (ids === undefined || ids.includes(id)) return name;
        await this.#client.update(withNetworkIds(existing, [...ids, id]));
        return name;
      } catch (err) {
        if (!(err instanceof ResourceAlreadyExistsError) && !(err instanceof UpdateConflictError)) throw err;
      }
    }
    throw new DriverError(`profile ${name} kept changing while recording network ${id}; try again`);
  }

  async deleteNetwork(req: { NetworkID: string }): Promise<Record<string, never>> {
    const id = checkId("NetworkID", req.NetworkID);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.forgetNetwork(id);
        break;
      } catch (err) {
        if (!(err instanceof UpdateConflictError) || attempt >= 10) throw err;
      }
    }
    this.#names.delete(id);
    return {};
  }

  /** Removes the network from the profiles recording it, deleting those it was the last user of. */
  private async forgetNetwork(id: string): Promise<void> {
    for (const p of (await this.store.list("Profile")).items) {
      const ids = networkIdsOf(p.metadata.annotations);
      if (!ids?.includes(id) || !p.metadata.name) continue;
      const rest = ids.filter((n) => n !== id);
      try {
        if (rest.length > 0) {
          await this.#client.update(withNetworkIds(p, rest));
        } else {
          const key = { kind: "Profile", name: p.metadata.name };
          await this.store.delete(key, { resourceVersion: p.metadata.resourceVersion });
          this.log.info({ profile: p.metadata.name, network: id }, "deleted profile");
        }
      } catch (err) {
        if (!(err instanceof ResourceNotFoundError)) throw err;
      }
    }
  }

  async createEndpoint(req: CreateEndpointRequest) {
    const networkId = checkId("NetworkID", req.NetworkID);
    const endpointId = checkId("EndpointID", req.EndpointID);
    const iface = req.Interface ?? {};
    const ipNetworks = [iface.Address, iface.AddressIPv6].filter((a): a is string => !!a).map(hostCIDR);
    if (ipNetworks.length === 0) throw new DriverError("No address assigned for endpoint");
    // Docker refuses a MAC from the driver when the user chose one (--mac-address).
    const mac = iface.MacAddress || macFromBytes(randomBytes(6));
    const profiles = this.config.createProfiles ? [await this.ensureProfile(networkId, 5_000)] : [];
    const wep = buildEndpoint({ node: this.config.nodename, endpointId, ipNetworks, mac, profiles });
    try {
      await this.#client.create(wep);
    } catch (err) {
      if (!(err instanceof ResourceAlreadyExistsError)) throw err;
      const current = await this.store.get(endpointKey(this.config.nodename, endpointId));
      await this.#client.update({ ...wep, metadata: { ...current.metadata, ...wep.metadata } });
    }
    this.log.info({ endpoint: endpointId, ipNetworks, profiles }, "created workload endpoint");
    return { Interface: iface.MacAddress ? {} : { MacAddress: mac } };
  }

  async join(req: EndpointRequest) {
    const networkId = checkId("NetworkID", req.NetworkID);
    const endpointId = checkId("EndpointID", req.EndpointID);
    let wep: Resource;
    try {
      wep = await this.store.get(endpointKey(this.config.nodename, endpointId));
    } catch (err) {
      if (err instanceof ResourceNotFoundError)
        throw new DriverError(`no WorkloadEndpoint for endpoint ${endpointId}: was it created on this node?`);
      throw err;
    }
    const spec = wep.spec as { ipNetworks?: string[]; mac?: string };
    const addresses = spec.ipNetworks ?? [];
    const { hostLinkLocal } = await setupHostVethPair({
      hostIfname: hostIfname(endpointId),
      peerIfname: tempIfname(endpointId),
      ...(this.config.vethMtu === undefined ? {} : { mtu: this.config.vethMtu }),
      ...(spec.mac ? { peerMac: spec.mac } : {}),
      addresses,
    });
    const res: Record<string, unknown> = {
      InterfaceName: { SrcName: tempIfname(endpointId), DstPrefix: this.config.ifPrefix },
    };
    const routes: Array<{ Destination: string; RouteType: number; NextHop: string }> = [];
    if (addresses.some((a) => !isV6(a))) {
      res.Gateway = IPV4_GATEWAY;
      routes.push({ Destination: `${IPV4_GATEWAY}/32`, RouteType: 1, NextHop: "" });
    }
    if (hostLinkLocal) {
      res.GatewayIPv6 = hostLinkLocal;
      routes.push({ Destination: `${hostLinkLocal}/128`, RouteType: 1, NextHop: "" });
    }
    res.StaticRoutes = routes;
    if (this.config.labelEndpoints)
      this.background("copying container labels", () => this.copyLabels(networkId, endpointId));
    this.log.info({ endpoint: endpointId, iface: hostIfname(endpointId) }, "joined");
    return res;
  }

  /**
   * Docker sends no labels to drivers, so the container is found through the network (once it
   * is running) and its `org.projectcalico.label.*` labels are written to the endpoint.
   */
  private async copyLabels(networkId: string, endpointId: string): Promise<void> {
    const deadline = Date.now() + this.config.labelPollTimeoutMs;
    let containerId: string | undefined;
    while (!containerId) {
      try {
        const containers = (await this.docker.network(networkId)).Containers ?? {};
        containerId = Object.entries(containers).find(
          ([cid, c]) => c.EndpointID === endpointId && !cid.startsWith("ep-"),
        )?.[0];
      } catch {
        // The daemon may be busy starting the container; retry until the deadline.
      }
      if (containerId) break;
      if (Date.now() > deadline) {
        this.log.warn({ endpoint: endpointId }, "container not found before the label poll timeout");
        return;
      }
      await sleep(100);
    }
    const labels = calicoLabels((await this.docker.container(containerId)).Config?.Labels);
    if (Object.keys(labels).length === 0) return;
    for (let attempt = 0; attempt < 10; attempt++) {
      const wep = await this.store.get(endpointKey(this.config.nodename, endpointId));
      try {
        await this.#client.update(withContainerLabels(wep, labels));
        this.log.info({ endpoint: endpointId, labels }, "labelled workload endpoint");
        return;
      } catch (err) {
        if (!(err instanceof UpdateConflictError)) throw err;
      }
    }
  }

  async leave(req: EndpointRequest): Promise<Record<string, never>> {
    await removeHostLink(hostIfname(checkId("EndpointID", req.EndpointID)));
    return {};
  }

  async deleteEndpoint(req: EndpointRequest): Promise<Record<string, never>> {
    const endpointId = checkId("EndpointID", req.EndpointID);
    // Leave normally removed the link already; a crash between the two must not leak it.
    await removeHostLink(hostIfname(endpointId));
    try {
      await this.store.delete(endpointKey(this.config.nodename, endpointId));
      this.log.info({ endpoint: endpointId }, "deleted workload endpoint");
    } catch (err) {
      if (!(err instanceof ResourceNotFoundError)) throw err;
    }
    return {};
  }
}
