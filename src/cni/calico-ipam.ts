/**
 * The `calico-ipam` plugin: block IPAM for one workload. ADD assigns addresses to the handle
 * `<network>.<containerID>` (or the exact address in `IP=`); DEL releases that handle and the
 * older workload-ID handle. Both run under the host-wide IPAM lock.
 */
import { dirname, join } from "node:path";
import type { ResourceStore } from "../datastore/types.js";
import type { AutoAssignResult } from "../ipam/assign.js";
import { IPAMClient } from "../ipam/client.js";
import { FileHints } from "../ipam/hints.js";
import { formatIP, parseCIDR, parseIP } from "../lib/net.js";
import { closeStore, openStore } from "./backend.js";
import type { NetConf } from "./config.js";
import type { CniEnv, Command } from "./env.js";
import { CniError, ErrorCode } from "./errors.js";
import { handleId, legacyHandleId, type WorkloadIdentity, workloadIdentity } from "./identity.js";
import { acquireHostLock } from "./lock.js";
import { log } from "./log.js";
import { type CniResult, formatResult } from "./result.js";

const IPAM_TIMEOUT_MS = 90_000;

/** Go's `time.Time.String()` in UTC, the form Calico stores in the timestamp attribute. */
export function goTimestamp(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} +0000 UTC`;
}

export function allocationAttributes(id: WorkloadIdentity, now: Date): Record<string, string> {
  const attrs: Record<string, string> = { node: id.node, timestamp: goTimestamp(now) };
  if (id.orchestrator === "k8s") {
    attrs.namespace = id.namespace;
    attrs.pod = id.pod;
  }
  return attrs;
}

/** Pool entries are CIDRs or names of existing pools; either way IPAM gets CIDRs of the right family. */
export async function resolvePools(
  store: ResourceStore,
  entries: string[],
  family: 4 | 6,
): Promise<string[]> {
  const out: string[] = [];
  for (const entry of entries) {
    let cidr = parseCIDR(entry);
    if (!cidr) {
      try {
        const pool = await store.get({ kind: "IPPool", name: entry });
        cidr = parseCIDR(String((pool.spec as { cidr?: unknown } | undefined)?.cidr ?? ""));
      } catch (err) {
        throw new CniError(ErrorCode.internal, `error parsing pool "${entry}": ${(err as Error).message}`);
      }
      if (!cidr)
        throw new CniError(ErrorCode.internal, `error parsing pool "${entry}": pool has no valid CIDR`);
    }
    if (cidr.family !== family) {
      throw new CniError(
        ErrorCode.invalidNetworkConfig,
        `"${formatIP({ family: cidr.family, value: cidr.address })}" isn't a IPv${family} address`,
        `pool "${entry}" is listed in ipv${family}_pools`,
      );
    }
    out.push(entry.includes("/") ? entry : `${formatIP({ family, value: cidr.address })}/${cidr.prefix}`);
  }
  return out;
}

function withTimeout<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${IPAM_TIMEOUT_MS / 1000} s: ${what}`)),
      IPAM_TIMEOUT_MS,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Holds the host lock only around the datastore work, as Calico does. */
async function locked<T>(conf: NetConf, what: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireHostLock(conf.ipamLockFile);
  try {
    return await withTimeout(what, fn());
  } finally {
    lock.release();
  }
}

/**
 * The host's block hints live beside the IPAM lock and are read and written under it, so each
 * allocation starts from the block the previous one used (one read, one write to etcd).
 */
export function hintsPath(conf: NetConf): string {
  return join(dirname(conf.ipamLockFile), "calico-ipam-hints.json");
}

function saveHints(hints: FileHints): void {
  try {
    hints.save();
  } catch (err) {
    // Only the next allocation's speed depends on it.
    log.info("could not save IPAM block hints", { path: hints.path, error: (err as Error).message });
  }
}

function resultOf(addresses: string[]): CniResult {
  return {
    interfaces: [],
    ips: addresses.map((address) => ({ address })),
    routes: addresses.map((dst) => ({ dst })),
    dns: {},
  };
}

async function assignSpecific(ipam: IPAMClient, conf: NetConf, id: WorkloadIdentity, ipText: string) {
  const ip = parseIP(ipText);
  if (!ip)
    throw new CniError(ErrorCode.invalidEnvironment, `CNI_ARGS: IP=${ipText} is not a valid IP address`);
  const handle = handleId(conf.name, id);
  await locked(conf, `assigning ${ipText}`, () =>
    ipam.assignIP({
      ip: ipText,
      handleId: handle,
      attrs: allocationAttributes(id, new Date()),
      hostname: id.node,
      intendedUse: "Workload",
    }),
  );
  return resultOf([`${formatIP(ip)}/${ip.family === 4 ? 32 : 128}`]);
}

/** Frees what a failed or half-fulfilled request did get, so nothing stays allocated. */
async function releaseAssigned(ipam: IPAMClient, handle: string, result: AutoAssignResult): Promise<void> {
  const ips = [...result.ipv4.ips, ...result.ipv6.ips].map((cidr) => cidr.split("/")[0] ?? cidr);
  if (ips.length === 0) return;
  try {
    await ipam.releaseIPs(ips.map((address) => ({ address, handle })));
  } catch (err) {
    log.error("failed to release addresses after a failed assignment", {
      ips,
      error: (err as Error).message,
    });
  }
}

function shortfall(result: AutoAssignResult): string | undefined {
  for (const a of [result.ipv4, result.ipv6]) {
    if (a.ips.length < a.numRequested) {
      return `failed to request IPv${a.ipVersion} addresses: Assigned ${a.ips.length} out of ${a.numRequested} requested IPv${a.ipVersion} addresses; ${a.msgs.join("; ")}`;
    }
  }
  return undefined;
}

async function autoAssign(ipam: IPAMClient, store: ResourceStore, conf: NetConf, id: WorkloadIdentity) {
  const num4 = conf.ipam.assignIpv4 ? 1 : 0;
  const num6 = conf.ipam.assignIpv6 ? 1 : 0;
  const ipv4Pools = await resolvePools(store, conf.ipam.ipv4Pools, 4);
  const ipv6Pools = await resolvePools(store, conf.ipam.ipv6Pools, 6);
  const handle = handleId(conf.name, id);
  log.info("auto-assigning addresses", { handle, num4, num6, ipv4Pools, ipv6Pools });
  const result = await locked(conf, "auto-assigning addresses", async () => {
    const hints = new FileHints(hintsPath(conf));
    try {
      const assigned = await ipam.autoAssign(
        {
          handleId: handle,
          attrs: allocationAttributes(id, new Date()),
          hostname: id.node,
          num4,
          num6,
          ipv4Pools,
          ipv6Pools,
          intendedUse: "Workload",
        },
        { hints },
      );
      saveHints(hints);
      return assigned;
    } catch (err) {
      const partial = (err as { result?: AutoAssignResult }).result;
      if (partial) await releaseAssigned(ipam, handle, partial);
      throw err;
    }
  });
  const short = shortfall(result);
  if (short) {
    await releaseAssigned(ipam, handle, result);
    throw new CniError(ErrorCode.internal, short);
  }
  return resultOf([...result.ipv4.ips, ...result.ipv6.ips]);
}

/** Releases both handle forms (a missing one is fine), in one read and one write when hinted. */
async function releaseHandles(ipam: IPAMClient, conf: NetConf, id: WorkloadIdentity): Promise<void> {
  const handles = [handleId(conf.name, id), legacyHandleId(id)];
  const released = await ipam.releaseHandles(handles, {
    hints: new FileHints(hintsPath(conf)),
    hostname: id.node,
  });
  for (const handle of handles) {
    const ips = released.get(handle);
    if (ips) log.info("released addresses", { handle, released: ips });
    else log.info("nothing allocated to handle", { handle });
  }
}

/**
 * The IPAM client for a store and node. The node agent keeps its stores open between runs, and
 * keeping the client too keeps what it learnt of the host's blocks, so the next allocation can be
 * one guarded transaction.
 */
const clients = new WeakMap<ResourceStore, Map<string, IPAMClient>>();

function ipamClient(store: ResourceStore, node: string): IPAMClient {
  let byNode = clients.get(store);
  if (!byNode) {
    byNode = new Map();
    clients.set(store, byNode);
  }
  let client = byNode.get(node);
  if (!client) {
    client = IPAMClient.fromResourceStore(store, { defaultHostname: node });
    byNode.set(node, client);
  }
  return client;
}

/** One IPAM request against an open store; the calico plugin calls this in-process for its own calico-ipam. */
export async function runIpam(
  command: "ADD" | "DEL",
  env: CniEnv,
  conf: NetConf,
  store: ResourceStore,
): Promise<CniResult | undefined> {
  const id = workloadIdentity(conf, env);
  const ipam = ipamClient(store, id.node);
  if (command === "ADD") {
    const result = env.args.ip
      ? await assignSpecific(ipam, conf, id, env.args.ip)
      : await autoAssign(ipam, store, conf, id);
    log.info("assigned addresses", { ips: result.ips.map((i) => i.address) });
    return result;
  }
  await locked(conf, "releasing addresses", () => releaseHandles(ipam, conf, id));
  return undefined;
}

export async function handle(command: Command, env: CniEnv, conf: NetConf): Promise<string | undefined> {
  // Calico registers no CHECK for calico-ipam; GC has nothing to collect without a valid-attachments sweep.
  if (command === "CHECK" || command === "GC") return undefined;
  const store = await openStore(conf);
  try {
    if (command === "STATUS") return await (await import("./status.js")).ipamStatus(store);
    if (command !== "ADD" && command !== "DEL") return undefined;
    const result = await runIpam(command, env, conf, store);
    return result && `${JSON.stringify(formatResult(result, conf.cniVersion), null, 4)}\n`;
  } finally {
    await closeStore(store);
  }
}
