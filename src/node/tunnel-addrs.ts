/**
 * The node's tunnel addresses: for every encapsulation some pool
 * enables for this node, one address from IPAM under the node's own handle, written onto the
 * Node; released and cleared when no pool needs it any more. Runs at start-up and again whenever
 * the pools change. Felix only reads these addresses; it never chooses them.
 */
import { createHash } from "node:crypto";
import type { Resource } from "../api/index.js";
import { CalicoClient } from "../client/index.js";
import { ResourceNotFoundError, type ResourceStore } from "../datastore/index.js";
import { IPAMClient, partialFulfillmentMessage } from "../ipam/index.js";
import { cidrContainsIP, parseCIDR, parseIP } from "../lib/net.js";
import { parseSelector } from "../selector/index.js";

export type TunnelKind = "ipip" | "vxlan" | "vxlan-v6";

interface TunnelType {
  kind: TunnelKind;
  family: 4 | 6;
  /** Allocation attribute `type`. */
  attrType: string;
  /** Where the Node keeps the address: a path under `spec`. */
  field: readonly string[];
  /** Where the Node keeps the VTEP MAC (VXLAN only). */
  macField?: string;
}

/** Calico's order, WireGuard aside (not supported here). */
export const TUNNEL_TYPES: readonly TunnelType[] = [
  { kind: "ipip", family: 4, attrType: "ipipTunnelAddress", field: ["bgp", "ipv4IPIPTunnelAddr"] },
  {
    kind: "vxlan",
    family: 4,
    attrType: "vxlanTunnelAddress",
    field: ["ipv4VXLANTunnelAddr"],
    macField: "vxlanTunnelMACAddr",
  },
  {
    kind: "vxlan-v6",
    family: 6,
    attrType: "vxlanV6TunnelAddress",
    field: ["ipv6VXLANTunnelAddr"],
    macField: "vxlanTunnelMACAddrV6",
  },
];

export function tunnelHandle(kind: TunnelKind, node: string): string {
  return `${kind}-tunnel-addr-${node}`;
}

/**
 * The VTEP MAC Felix derives when the Node names none (0x66, then 5 bytes of SHA-1 of the node
 * name, `-v6` appended for IPv6), so writing it keeps the MAC stable and equal to Felix's view.
 */
export function derivedVtepMac(node: string, family: 4 | 6): string {
  const hash = createHash("sha1")
    .update(family === 6 ? `${node}-v6` : node)
    .digest();
  return [0x66, ...hash.subarray(0, 5)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

type Spec = Record<string, unknown>;

function isOn(mode: unknown): boolean {
  return mode === "Always" || mode === "CrossSubnet";
}

/** Pools that may hold this node's tunnel address of the given type. */
export function candidatePools(
  type: TunnelType,
  pools: readonly Resource[],
  nodeLabels: Record<string, string>,
): string[] {
  const out: string[] = [];
  for (const pool of pools) {
    const spec = (pool.spec ?? {}) as Spec;
    const cidr = parseCIDR(String(spec.cidr ?? ""));
    if (!cidr || cidr.family !== type.family) continue;
    if (spec.disabled === true || pool.metadata?.deletionTimestamp) continue;
    const uses = (spec.allowedUses as string[] | undefined) ?? [];
    if (uses.length > 0 && !uses.includes("Tunnel")) continue;
    if (!isOn(type.kind === "ipip" ? spec.ipipMode : spec.vxlanMode)) continue;
    const selector = String(spec.nodeSelector ?? "").trim() || "all()";
    if (!parseSelector(selector).matches(nodeLabels)) continue;
    out.push(String(spec.cidr));
  }
  return out;
}

function getField(spec: Spec, path: readonly string[]): string | undefined {
  let cur: unknown = spec;
  for (const p of path) cur = (cur as Spec | undefined)?.[p];
  return typeof cur === "string" && cur !== "" ? cur : undefined;
}

function setField(spec: Spec, path: readonly string[], value: string | undefined): void {
  const parent = path.slice(0, -1).reduce<Spec>((s, p) => {
    if (typeof s[p] !== "object" || s[p] === null) s[p] = {};
    return s[p] as Spec;
  }, spec);
  const last = path[path.length - 1] as string;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
}

export interface TunnelLog {
  info(msg: string): void;
  warn(msg: string): void;
}

async function releaseHandle(ipam: IPAMClient, handle: string): Promise<string[]> {
  try {
    return await ipam.releaseByHandle(handle);
  } catch (err) {
    if (err instanceof ResourceNotFoundError) return [];
    throw err;
  }
}

/**
 * Brings one node's tunnel addresses in line with the pools. Returns the Node's tunnel fields
 * afterwards. On failure, what this pass assigned is released again.
 */
export async function reconcileTunnelAddresses(
  store: ResourceStore,
  nodeName: string,
  log: TunnelLog,
): Promise<Record<TunnelKind, string | undefined>> {
  const client = new CalicoClient(store);
  const ipam = IPAMClient.fromResourceStore(store, { defaultHostname: nodeName });
  const node = await store.get({ kind: "Node", name: nodeName });
  const spec = structuredClone((node.spec ?? {}) as Spec);
  const labels = (node.metadata?.labels ?? {}) as Record<string, string>;
  const pools = (await store.list("IPPool")).items;
  const assignedNow: string[] = [];
  const result = {} as Record<TunnelKind, string | undefined>;
  try {
    for (const type of TUNNEL_TYPES) {
      const handle = tunnelHandle(type.kind, nodeName);
      const candidates = candidatePools(type, pools, labels);
      const current = getField(spec, type.field);
      if (candidates.length === 0) {
        if (current) await releaseIfOurs(ipam, current, handle, type, nodeName, log);
        else await releaseHandle(ipam, handle);
        setField(spec, type.field, undefined);
        if (type.macField) delete spec[type.macField];
        result[type.kind] = undefined;
        continue;
      }
      let addr = current && (await keepable(ipam, current, handle, type, nodeName, candidates));
      if (!addr) {
        if (current)
          log.info(`${type.kind} tunnel address ${current} of ${nodeName} is not usable; reassigning`);
        await releaseHandle(ipam, handle);
        const res = await ipam.autoAssign({
          ...(type.family === 4 ? { num4: 1, ipv4Pools: candidates } : { num6: 1, ipv6Pools: candidates }),
          handleId: handle,
          attrs: { node: nodeName, type: type.attrType },
          hostname: nodeName,
          intendedUse: "Tunnel",
        });
        const got = type.family === 4 ? res.ipv4 : res.ipv6;
        const first = got.ips[0];
        if (!first)
          throw new Error(
            `could not assign a ${type.kind} tunnel address to ${nodeName} from ${candidates.join(", ")}: ${partialFulfillmentMessage(got) ?? "no address"}`,
          );
        addr = first.split("/")[0] as string;
        assignedNow.push(handle);
        log.info(`assigned ${type.kind} tunnel address ${addr} to ${nodeName}`);
      }
      setField(spec, type.field, addr);
      if (type.macField && !spec[type.macField]) spec[type.macField] = derivedVtepMac(nodeName, type.family);
      result[type.kind] = addr;
    }
    if (JSON.stringify(spec) !== JSON.stringify(node.spec ?? {}))
      await client.update({ ...node, spec } as Resource);
  } catch (err) {
    for (const handle of assignedNow) await releaseHandle(ipam, handle).catch(() => undefined);
    throw err;
  }
  return result;
}

/** The current address when it is this node's allocation of this type inside a candidate pool. */
async function keepable(
  ipam: IPAMClient,
  addr: string,
  handle: string,
  type: TunnelType,
  nodeName: string,
  candidates: readonly string[],
): Promise<string | undefined> {
  let attrs: Awaited<ReturnType<IPAMClient["getAssignmentAttributes"]>>;
  try {
    attrs = await ipam.getAssignmentAttributes(addr);
  } catch {
    return undefined;
  }
  const ours = attrs.attrs.type === type.attrType && attrs.attrs.node === nodeName;
  const ip = parseIP(addr);
  const inPool = candidates.some((c) => {
    const cidr = parseCIDR(c);
    return cidr !== undefined && ip !== undefined && cidrContainsIP(cidr, ip);
  });
  if (ours && inPool) return addr;
  if (!attrs.handleId && Object.keys(attrs.attrs).length === 0 && inPool) {
    // An allocation from before handles existed: take it over under our handle.
    await ipam.releaseIPs([addr]);
    try {
      await ipam.assignIP({
        ip: addr,
        handleId: handle,
        attrs: { node: nodeName, type: type.attrType },
        hostname: nodeName,
      });
      return addr;
    } catch {
      return undefined;
    }
  }
  if (ours) await ipam.releaseIPs([addr]);
  return undefined;
}

async function releaseIfOurs(
  ipam: IPAMClient,
  addr: string,
  handle: string,
  type: TunnelType,
  nodeName: string,
  log: TunnelLog,
): Promise<void> {
  const released = await releaseHandle(ipam, handle);
  if (released.length > 0) {
    log.info(`released ${type.kind} tunnel address ${released.join(", ")} of ${nodeName}: no pool needs it`);
    return;
  }
  let attrs: Awaited<ReturnType<IPAMClient["getAssignmentAttributes"]>>;
  try {
    attrs = await ipam.getAssignmentAttributes(addr);
  } catch {
    return;
  }
  if (!attrs.handleId && Object.keys(attrs.attrs).length === 0) await ipam.releaseIPs([addr]);
  else if (attrs.handleId !== handle)
    log.warn(
      `${type.kind} tunnel address ${addr} of ${nodeName} belongs to someone else (${attrs.handleId}); left alone`,
    );
}

export interface TunnelWatcher {
  stop(): Promise<void>;
}

const POOL_PREFIX = "/calico/resources/v3/projectcalico.org/ippools/";
const NODE_PREFIX = "/calico/resources/v3/projectcalico.org/nodes/";
const DEBOUNCE_MS = 100;
const RETRY_MS = 2_000;

/**
 * Re-runs the reconciliation whenever a pool or this Node changes (a pool's mode or this node's
 * labels decide which addresses it needs), coalescing bursts, and retries after failures.
 */
export function watchTunnelAddresses(store: ResourceStore, nodeName: string, log: TunnelLog): TunnelWatcher {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  const watches: Array<{ close(): Promise<void> }> = [];

  const reconcile = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await reconcileTunnelAddresses(store, nodeName, log);
    } catch (err) {
      log.warn(`tunnel address reconciliation failed: ${(err as Error).message}; retrying`);
      schedule(RETRY_MS);
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule(0);
      }
    }
  };
  const schedule = (ms = DEBOUNCE_MS): void => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reconcile(), ms);
  };
  const watch = async (): Promise<void> => {
    if (stopped) return;
    try {
      const { revision } = await store.kv.list(POOL_PREFIX);
      for (const prefix of [POOL_PREFIX, `${NODE_PREFIX}${nodeName}`])
        watches.push(
          store.kv.watch(prefix, revision, {
            onEvent: () => schedule(),
            onError: () => {
              if (watches.length === 0) return;
              void Promise.all(watches.splice(0).map((w) => w.close().catch(() => undefined)));
              setTimeout(() => void watch(), RETRY_MS);
            },
          }),
        );
      schedule();
    } catch {
      setTimeout(() => void watch(), RETRY_MS);
    }
  };
  void watch();
  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all(watches.splice(0).map((w) => w.close().catch(() => undefined)));
    },
  };
}
