/**
 * The `calico-ipam` driver: Docker pools are Calico IP pools and addresses come from Calico's
 * block IPAM with this node's affinity. Every address gets a handle of its own
 * (`libnetwork.<random>`; Docker asks for addresses before it names the endpoint), so release
 * is by handle and repeating it is harmless.
 */
import { randomBytes } from "node:crypto";
import type { ResourceStore } from "../datastore/index.js";
import { ResourceNotFoundError } from "../datastore/index.js";
import { AddressNotAssignedError, IPAMClient, IPInCooldownError } from "../ipam/index.js";
import { canonicalCIDR, formatIP, parseCIDR, parseIP } from "../lib/net.js";
import {
  DriverError,
  FAKE_GATEWAY_V4,
  FAKE_GATEWAY_V6,
  GATEWAY_REQUEST,
  GLOBAL_ADDRESS_SPACE,
  HANDLE_PREFIX,
  LOCAL_ADDRESS_SPACE,
  POOL_ID_V4,
  POOL_ID_V6,
  type ReleaseAddressRequest,
  type RequestAddressRequest,
  type RequestPoolRequest,
} from "./protocol.js";

interface PoolSpec {
  cidr?: string;
  disabled?: boolean;
}

export interface IpamDriverLog {
  info(obj: object, msg: string): void;
}

export class IpamDriver {
  readonly #ipam: IPAMClient;

  constructor(
    private readonly store: ResourceStore,
    private readonly node: string,
    private readonly log: IpamDriverLog,
  ) {
    this.#ipam = IPAMClient.fromResourceStore(store, { defaultHostname: node });
  }

  capabilities() {
    return { RequiresMACAddress: false, RequiresRequestReplay: false };
  }

  defaultAddressSpaces() {
    return { LocalDefaultAddressSpace: LOCAL_ADDRESS_SPACE, GlobalDefaultAddressSpace: GLOBAL_ADDRESS_SPACE };
  }

  async requestPool(req: RequestPoolRequest) {
    if (req.SubPool)
      throw new DriverError("Calico IPAM does not support sub pool configuration (--ip-range).");
    const opts = Object.keys(req.Options ?? {});
    if (opts.length > 0)
      throw new DriverError(`Arbitrary options are not supported (--ipam-opt ${opts.sort().join(", ")}).`);
    const v6 = req.V6 === true;
    const gateway = { "com.docker.network.gateway": v6 ? FAKE_GATEWAY_V6 : FAKE_GATEWAY_V4 };
    const pools = (await this.store.list("IPPool")).items;
    if (!req.Pool) {
      // Refused now rather than at `docker run`: Docker 20.10 keeps the IPv4 address it got when
      // the IPv6 request of the same endpoint fails.
      const family = v6 ? 6 : 4;
      const usable = pools.some((p) => {
        const spec = p.spec as PoolSpec;
        return !spec.disabled && parseCIDR(String(spec.cidr ?? ""))?.family === family;
      });
      if (!usable)
        throw new DriverError(
          `No enabled IPv${family} Calico IP Pool is configured: create one before this network.`,
        );
      return { PoolID: v6 ? POOL_ID_V6 : POOL_ID_V4, Pool: v6 ? "::/0" : "0.0.0.0/0", Data: gateway };
    }
    const wanted = parseCIDR(req.Pool);
    if (!wanted) throw new DriverError(`invalid subnet "${req.Pool}"`);
    if ((wanted.family === 6) !== v6)
      throw new DriverError(`subnet ${req.Pool} is not an IPv${v6 ? 6 : 4} subnet`);
    const canonical = canonicalCIDR(req.Pool);
    const pool = pools.find((p) => canonicalCIDR(String((p.spec as PoolSpec).cidr ?? "")) === canonical);
    if (!pool) {
      const have = pools.map((p) => (p.spec as PoolSpec).cidr).join(", ") || "none";
      throw new DriverError(
        `The requested subnet ${req.Pool} must match the CIDR of a configured Calico IP Pool (pools: ${have}).`,
      );
    }
    if ((pool.spec as PoolSpec).disabled)
      throw new DriverError(`The Calico IP Pool ${pool.metadata.name} (${req.Pool}) is disabled.`);
    return { PoolID: pool.metadata.name, Pool: canonical, Data: gateway };
  }

  releasePool(): Record<string, never> {
    return {};
  }

  /** The pool a PoolID stands for: one family of every pool, or one named pool. */
  private async resolvePool(poolId: string): Promise<{ family: 4 | 6; cidr?: string }> {
    if (poolId === POOL_ID_V4) return { family: 4 };
    if (poolId === POOL_ID_V6) return { family: 6 };
    let pool: Awaited<ReturnType<ResourceStore["get"]>>;
    try {
      pool = await this.store.get({ kind: "IPPool", name: poolId });
    } catch (err) {
      if (err instanceof ResourceNotFoundError)
        throw new DriverError(`The Calico IP Pool ${poolId} of this network no longer exists.`);
      throw err;
    }
    const cidr = parseCIDR(String((pool.spec as PoolSpec).cidr ?? ""));
    if (!cidr) throw new DriverError(`The Calico IP Pool ${poolId} has no valid CIDR.`);
    return { family: cidr.family, cidr: canonicalCIDR(String((pool.spec as PoolSpec).cidr)) };
  }

  async requestAddress(req: RequestAddressRequest) {
    if (req.Options?.RequestAddressType === GATEWAY_REQUEST)
      throw new DriverError("Calico IPAM does not support specifying a gateway.");
    const pool = await this.resolvePool(req.PoolID);
    const handleId = `${HANDLE_PREFIX}${randomBytes(16).toString("hex")}`;
    const attrs = { node: this.node };
    const bits = pool.family === 4 ? 32 : 128;
    if (req.Address) {
      const ip = parseIP(req.Address);
      if (!ip || ip.family !== pool.family)
        throw new DriverError(`invalid IPv${pool.family} address "${req.Address}"`);
      await this.#ipam
        .assignIP({ ip: formatIP(ip), handleId, attrs, hostname: this.node })
        .catch((err: Error) => {
          throw this.explain(err);
        });
      this.log.info({ address: formatIP(ip), handleId }, "assigned requested address");
      return { Address: `${formatIP(ip)}/${bits}`, Data: {} };
    }
    const pools = pool.cidr ? [pool.cidr] : undefined;
    const result = await this.#ipam
      .autoAssign({
        handleId,
        attrs,
        hostname: this.node,
        num4: pool.family === 4 ? 1 : 0,
        num6: pool.family === 6 ? 1 : 0,
        ...(pool.family === 4 ? { ipv4Pools: pools } : { ipv6Pools: pools }),
      })
      .catch((err: Error) => {
        throw this.explain(err);
      });
    const got = pool.family === 4 ? result.ipv4 : result.ipv6;
    const first = got.ips[0];
    if (!first) {
      await this.releaseHandle(handleId);
      throw new DriverError(
        `Calico IPAM could not assign an IPv${pool.family} address${pool.cidr ? ` from ${pool.cidr}` : ""}: ${got.msgs.join("; ") || "no address available"}`,
      );
    }
    const address = first.split("/")[0] ?? first;
    this.log.info({ address, handleId }, "assigned address");
    return { Address: `${address}/${bits}`, Data: {} };
  }

  /** Block affinities need this host's Node resource, which calico-node writes at start-up. */
  private explain(err: Error): Error {
    if (err.message.includes(`Node(${this.node})`))
      return new DriverError(
        `Calico node "${this.node}" does not exist: start calico-node on this host (or set NODENAME to its name).`,
      );
    return err;
  }

  private async releaseHandle(handleId: string): Promise<void> {
    try {
      await this.#ipam.releaseByHandle(handleId);
    } catch (err) {
      if (!(err instanceof ResourceNotFoundError)) throw err;
    }
  }

  /** Frees the address with its handle; addresses Docker never got from us are ignored. */
  async releaseAddress(req: ReleaseAddressRequest): Promise<Record<string, never>> {
    const ip = req.Address ? parseIP(req.Address) : undefined;
    if (!ip || ip.value === 0n) return {};
    const text = formatIP(ip);
    let handleId: string | undefined;
    try {
      handleId = (await this.#ipam.getAssignmentAttributes(text)).handleId;
    } catch (err) {
      if (err instanceof AddressNotAssignedError || err instanceof IPInCooldownError) return {};
      if (err instanceof ResourceNotFoundError) return {};
      throw err;
    }
    if (!handleId?.startsWith(HANDLE_PREFIX)) {
      this.log.info({ address: text, handleId }, "address is not a libnetwork allocation; leaving it");
      return {};
    }
    await this.releaseHandle(handleId);
    this.log.info({ address: text, handleId }, "released address");
    return {};
  }
}
