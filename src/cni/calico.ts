/**
 * The `calico` network plugin. ADD: IPAM (delegated), then the veth and routes, then the
 * WorkloadEndpoint; a failure at any step undoes the earlier ones. DEL: the reverse, where every
 * step accepts "already gone". CHECK: verifies what ADD built is still there.
 */
import { kindInfo } from "../api/kinds.js";
import type { Resource } from "../api/meta.js";
import {
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  UpdateConflictError,
} from "../datastore/errors.js";
import { listPrefix } from "../datastore/resources/keys.js";
import type { ResourceStore } from "../datastore/types.js";
import { type AddressRequest, addressRequest, rawWithIpam, readAnnotations } from "./annotations.js";
import { closeStore, openStore } from "./backend.js";
import { checkContainer } from "./check.js";
import type { NetConf } from "./config.js";
import { runEnv } from "./context.js";
import { removeWorkloadInterface, setupWorkloadInterface } from "./dataplane.js";
import { execPlugin, resolvesToOwn } from "./delegate.js";
import {
  buildWorkloadEndpoint,
  endpointName,
  endpointNamePrefix,
  endpointProfiles,
  hostCIDR,
  networkProfile,
  sameWorkload,
} from "./endpoint.js";
import type { CniEnv, Command } from "./env.js";
import { CniError, ErrorCode } from "./errors.js";
import {
  hostInterfaceName,
  requireNodenameFile,
  type WorkloadIdentity,
  workloadIdentity,
} from "./identity.js";
import { families } from "./ipcmd.js";
import { log } from "./log.js";
import { resolveMtu, waitForReadinessGates } from "./preflight.js";
import { checkClusterReady } from "./readiness.js";
import { type CniResult, formatResult } from "./result.js";

interface Ctx {
  env: CniEnv;
  conf: NetConf;
  id: WorkloadIdentity;
  store: ResourceStore;
}

const WEP_KIND = kindInfo("WorkloadEndpoint")!;

const wepKey = (id: WorkloadIdentity) => ({
  kind: "WorkloadEndpoint",
  namespace: id.namespace,
  name: endpointName(id),
});

/**
 * The IPAM plugin's verb, delegated as the CNI spec does it (exec from CNI_PATH, same stdin and
 * environment), except that our own calico-ipam runs in this process over this store: same
 * handle, same result, one Node start and one etcd connection fewer.
 */
async function ipam(
  ctx: Ctx,
  command: "ADD" | "DEL" | "CHECK",
  pinned?: string,
): Promise<CniResult | undefined> {
  if (ctx.conf.ipam.type === "calico-ipam" && (await resolvesToOwn("calico-ipam", ctx.env.path))) {
    if (command === "CHECK") return undefined;
    const env = pinned ? { ...ctx.env, args: { ...ctx.env.args, ip: pinned } } : ctx.env;
    return (await import("./calico-ipam.js")).runIpam(command, env, ctx.conf, ctx.store);
  }
  // A pinned address travels as `IP=` in CNI_ARGS, the convention calico-ipam (and others) read.
  const processEnv = runEnv();
  const cniArgs = pinned ? `${processEnv.CNI_ARGS ?? ""};IP=${pinned}` : processEnv.CNI_ARGS;
  return execPlugin({
    type: ctx.conf.ipam.type,
    command,
    stdin: JSON.stringify(ctx.conf.raw),
    env: cniArgs === undefined ? processEnv : { ...processEnv, CNI_ARGS: cniArgs },
    path: ctx.env.path,
  });
}

/**
 * What the pod's annotations ask for (Kubernetes under `policy.type: k8s` only, as in Calico,
 * which reads them from the API only then), with the IPAM context they imply.
 */
function requestFor(ctx: Ctx): { request: AddressRequest; ipamCtx: Ctx } {
  const { conf, id } = ctx;
  if (id.orchestrator !== "k8s" || conf.policyType !== "k8s") {
    if (id.orchestrator !== "k8s" && conf.featureControl.ipAddrsNoIpam)
      throw new CniError(
        ErrorCode.internal,
        "requested feature is not supported for this runtime: ip_addrs_no_ipam",
      );
    return { request: { ipam: conf.ipam }, ipamCtx: ctx };
  }
  const request = addressRequest(conf, readAnnotations(conf.raw));
  const ipamConf = { ...conf, ipam: request.ipam, raw: rawWithIpam(conf.raw, conf.ipam, request.ipam) };
  return { request, ipamCtx: { ...ctx, conf: ipamConf } };
}

/** Each pinned address from IPAM in turn; the caller's failure path releases what was assigned. */
async function assignPinned(ctx: Ctx, addresses: string[]): Promise<CniResult> {
  const ips: CniResult["ips"] = [];
  for (const address of addresses) {
    let got: CniResult | undefined;
    try {
      got = await ipam(ctx, "ADD", address);
    } catch (err) {
      throw new CniError(ErrorCode.internal, `error getting IP from IPAM: ${(err as Error).message}`);
    }
    const first = got?.ips[0];
    if (!first) throw new CniError(ErrorCode.internal, "IPAM plugin returned missing IP config");
    ips.push(first);
  }
  return { interfaces: [], ips, routes: [], dns: {} };
}

/** An existing endpoint's addresses go back to IPAM before its pinned ones are requested again. */
async function releaseEndpointAddresses(ctx: Ctx, existing: Resource): Promise<void> {
  const nets = ((existing.spec ?? {}) as { ipNetworks?: string[] }).ipNetworks ?? [];
  if (nets.length === 0) return;
  const { IPAMClient } = await import("../ipam/client.js");
  const client = IPAMClient.fromResourceStore(ctx.store, { defaultHostname: ctx.id.node });
  try {
    await client.releaseIPs(nets.map((n) => n.split("/")[0] ?? n));
  } catch (err) {
    throw new CniError(ErrorCode.internal, `failed to release ipAddrs: ${(err as Error).message}`);
  }
}

/** IPAM DEL after a failed ADD; its own failure is logged, the original error is what matters. */
async function releaseAfterFailure(ctx: Ctx): Promise<void> {
  try {
    await ipam(ctx, "DEL");
  } catch (err) {
    log.error("failed to release IPAM allocation after a failed ADD", { error: (err as Error).message });
  }
}

/** An endpoint of this workload under any interface name (Calico's name-prefix lookup). */
async function findExistingEndpoint(ctx: Ctx): Promise<Resource | undefined> {
  const prefix = `${listPrefix(WEP_KIND, ctx.id.namespace)}${endpointNamePrefix(ctx.id)}`;
  for (const kv of (await ctx.store.kv.list(prefix)).kvs) {
    let candidate: Resource;
    try {
      candidate = JSON.parse(kv.value) as Resource;
    } catch {
      continue;
    }
    if (!sameWorkload(candidate, ctx.id) || !candidate.metadata?.name) continue;
    try {
      return await ctx.store.get({
        kind: "WorkloadEndpoint",
        namespace: ctx.id.namespace,
        name: candidate.metadata.name,
      });
    } catch (err) {
      if (!(err instanceof ResourceNotFoundError)) throw err;
    }
  }
  return undefined;
}

async function profileExists(ctx: Ctx): Promise<boolean> {
  try {
    await ctx.store.get({ kind: "Profile", name: ctx.conf.name });
    return true;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundError)) throw err;
    return false;
  }
}

/** Creates the network's profile if missing; never changes an existing one. */
async function ensureProfile(ctx: Ctx, exists: boolean): Promise<void> {
  if (exists) return;
  try {
    await (await writerFor(ctx.store)).create(networkProfile(ctx.conf.name, ctx.id.orchestrator));
    log.info("created profile", { profile: ctx.conf.name });
  } catch (err) {
    if (!(err instanceof ResourceAlreadyExistsError)) throw err;
  }
}

/** The reads an ADD starts with: they only read, so they may go out before readiness is known. */
interface AddReads {
  existing: Promise<Resource | undefined>;
  profileExists: Promise<boolean>;
}

function startAddReads(ctx: Ctx): AddReads {
  const reads = {
    existing: findExistingEndpoint(ctx),
    profileExists: ctx.conf.policyType === "" ? profileExists(ctx) : Promise.resolve(true),
  };
  // Awaited by add(), or abandoned when readiness fails: never an unhandled rejection.
  reads.existing.catch(() => {});
  reads.profileExists.catch(() => {});
  return reads;
}

/**
 * Writes go through the client pipeline (defaults, validation, canonical form) so the plugin's
 * objects are accepted or refused exactly as calicoctl's would be. Loaded on first write only:
 * DEL and CHECK never need it.
 */
async function writerFor(store: ResourceStore) {
  const { CalicoClient } = await import("../client/client.js");
  return new CalicoClient(store);
}

async function writeEndpoint(store: ResourceStore, wep: Resource): Promise<Resource> {
  const client = await writerFor(store);
  return wep.metadata.resourceVersion ? client.update(wep) : client.create(wep);
}

function buildResult(
  ctx: Ctx,
  addresses: string[],
  routes: CniResult["routes"],
  dns: CniResult["dns"],
  iface: { host: string; mac?: string; mtu?: number },
): CniResult {
  const container: CniResult["interfaces"][number] = { name: ctx.env.ifname };
  if (iface.mac) container.mac = iface.mac;
  if (iface.mtu) container.mtu = iface.mtu;
  container.sandbox = ctx.env.netns;
  return {
    interfaces: [{ name: iface.host }, container],
    ips: addresses.map((address) => ({ address, interface: 1 })),
    routes,
    dns,
  };
}

/** Plain CNI: the same container added to another network keeps its interface and gains a profile. */
async function addToExisting(ctx: Ctx, existing: Resource): Promise<CniResult> {
  const spec = (existing.spec ?? {}) as {
    profiles?: string[];
    ipNetworks?: string[];
    interfaceName?: string;
    mac?: string;
  };
  const profiles = spec.profiles ?? [];
  if (!profiles.includes(ctx.conf.name)) {
    await writeEndpoint(ctx.store, {
      ...existing,
      spec: { ...spec, profiles: [...profiles, ctx.conf.name] },
    });
  }
  log.info("endpoint already exists; added network to its profiles", { endpoint: existing.metadata.name });
  const addresses = spec.ipNetworks ?? [];
  return buildResult(ctx, addresses, [], {}, { host: spec.interfaceName ?? "", mac: spec.mac });
}

async function add(ctx: Ctx, early: AddReads | undefined): Promise<CniResult> {
  const { conf, env, id, store } = ctx;
  if (conf.ipam.type === "")
    throw new CniError(ErrorCode.invalidNetworkConfig, "missing ipam.type in network config");
  const mtu = await resolveMtu(conf);
  await waitForReadinessGates(conf.readinessGates);
  const reads = early ?? startAddReads(ctx);
  const existing = await reads.existing;
  await ensureProfile(ctx, await reads.profileExists);
  if (existing && id.orchestrator === "cni") return addToExisting(ctx, existing);

  const { request, ipamCtx } = requestFor(ctx);
  let allocated: CniResult | undefined;
  if (request.ipAddrsNoIpam) {
    allocated = {
      interfaces: [],
      ips: request.ipAddrsNoIpam.map((address) => ({ address })),
      routes: [],
      dns: {},
    };
  } else if (request.ipAddrs) {
    if (existing) await releaseEndpointAddresses(ctx, existing);
    try {
      allocated = await assignPinned(ipamCtx, request.ipAddrs);
    } catch (err) {
      await releaseAfterFailure(ipamCtx);
      throw err;
    }
  } else {
    allocated = await ipam(ipamCtx, "ADD");
  }
  if (!allocated || allocated.ips.length === 0) {
    await releaseAfterFailure(ipamCtx);
    throw new CniError(ErrorCode.internal, "IPAM plugin returned no IP addresses in result");
  }
  const hostIfname = hostInterfaceName(id);
  let plumbed = false;
  try {
    const addresses = allocated.ips.map((ip) => hostCIDR(ip.address));
    const fam = families(addresses);
    const routes = [...(fam.v4 ? ["0.0.0.0/0"] : []), ...(fam.v6 ? ["::/0"] : [])];
    log.info("wiring up workload", { addresses, hostIfname });
    const link = await setupWorkloadInterface({
      netns: env.netns,
      ifname: env.ifname,
      hostIfname,
      mtu,
      numQueues: conf.numQueues,
      addresses,
      routes,
      allowIpForwarding: conf.allowIpForwarding,
    });
    plumbed = true;
    const wep = buildWorkloadEndpoint(
      id,
      {
        orchestrator: id.orchestrator,
        node: id.node,
        containerID: id.containerId,
        pod: id.pod,
        endpoint: id.endpoint,
        ipNetworks: addresses,
        profiles: endpointProfiles(id, conf.name, conf.policyType),
        interfaceName: hostIfname,
        mac: link.mac,
      },
      existing,
    );
    await writeEndpoint(store, wep);
    log.info("wrote workload endpoint", { endpoint: wep.metadata.name });
    return buildResult(ctx, addresses, allocated.routes, allocated.dns, {
      host: hostIfname,
      mac: link.mac,
      mtu: link.mtu,
    });
  } catch (err) {
    if (plumbed) {
      await removeWorkloadInterface(env.netns, env.ifname).catch((e: Error) =>
        log.error("failed to remove interface after a failed ADD", { error: e.message }),
      );
    }
    await releaseAfterFailure(ctx);
    throw err;
  }
}

async function deleteEndpoint(ctx: Ctx): Promise<void> {
  try {
    await ctx.store.delete(wepKey(ctx.id));
    log.info("deleted workload endpoint", { endpoint: endpointName(ctx.id) });
  } catch (err) {
    if (!(err instanceof ResourceNotFoundError)) throw err;
  }
}

/**
 * Kubernetes DEL: only the endpoint of this sandbox is deleted (a DEL for an old sandbox must not
 * remove the new one's), with compare-and-swap so a concurrent ADD's write is never lost.
 */
async function deleteK8sEndpoint(ctx: Ctx): Promise<void> {
  for (let attempt = 0; attempt < 6; attempt++) {
    let wep: Resource;
    try {
      wep = await ctx.store.get(wepKey(ctx.id));
    } catch (err) {
      if (err instanceof ResourceNotFoundError) return;
      throw err;
    }
    const owner = (wep.spec as { containerID?: string } | undefined)?.containerID;
    if (owner && owner !== ctx.env.containerId) {
      log.info("endpoint belongs to a newer sandbox; keeping it", { endpoint: wep.metadata.name, owner });
      return;
    }
    try {
      await ctx.store.delete(wepKey(ctx.id), { resourceVersion: wep.metadata.resourceVersion });
      return;
    } catch (err) {
      if (err instanceof ResourceNotFoundError) return;
      if (!(err instanceof UpdateConflictError)) throw err;
    }
  }
  throw new CniError(ErrorCode.internal, "endpoint was modified before it could be deleted");
}

/**
 * The interface goes in parallel with an endpoint step (it needs nothing from the datastore), so
 * the `nsenter` runs while the plugin waits on etcd; never beside IPAM, whose lock is taken by the
 * same command shell and would only queue behind it. When both fail, the endpoint step's error
 * is the one reported, as when they ran one after the other.
 */
async function del(ctx: Ctx): Promise<void> {
  const hasIpam = ctx.conf.ipam.type !== "";
  const alongsideUnplumb = async (step: () => Promise<void>) => {
    const unplumbed = removeWorkloadInterface(ctx.env.netns, ctx.env.ifname);
    const [s, u] = await Promise.allSettled([step(), unplumbed]);
    if (s.status === "rejected") throw s.reason;
    if (u.status === "rejected") throw u.reason;
  };
  if (ctx.id.orchestrator === "k8s") {
    await alongsideUnplumb(() => deleteK8sEndpoint(ctx));
    if (hasIpam) await ipam(ctx, "DEL");
    return;
  }
  let ipamError: unknown;
  if (hasIpam) {
    try {
      await ipam(ctx, "DEL");
    } catch (err) {
      ipamError = err;
    }
  }
  await alongsideUnplumb(() => deleteEndpoint(ctx));
  if (ipamError) throw ipamError;
}

async function check(ctx: Ctx): Promise<void> {
  let wep: Resource;
  try {
    wep = await ctx.store.get(wepKey(ctx.id));
  } catch (err) {
    if (err instanceof ResourceNotFoundError) {
      throw new CniError(ErrorCode.internal, `workload endpoint ${endpointName(ctx.id)} does not exist`);
    }
    throw err;
  }
  await checkContainer(ctx.env, wep);
  if (ctx.conf.ipam.type !== "") await ipam(ctx, "CHECK");
}

/**
 * Starts loading the modules this verb will need later (IPAM; for ADD the write pipeline) while
 * the plugin waits on etcd and on `ip`, instead of compiling them on the critical path when first
 * used. A failure here surfaces at the real import.
 */
function prefetchModules(command: Command, conf: NetConf): void {
  if (command !== "ADD" && command !== "DEL") return;
  const wanted: Promise<unknown>[] = [];
  if (conf.ipam.type === "calico-ipam") wanted.push(import("./calico-ipam.js"));
  if (command === "ADD") wanted.push(import("../client/client.js"));
  for (const p of wanted) p.catch(() => {});
}

export async function handle(command: Command, env: CniEnv, conf: NetConf): Promise<string | undefined> {
  if (command === "GC") return undefined;
  if (command !== "STATUS") requireNodenameFile(conf);
  const id = workloadIdentity(conf, env);
  log.with({ node: id.node, orchestrator: id.orchestrator });
  const store = await openStore(conf);
  try {
    if (command === "STATUS") return await (await import("./status.js")).calicoStatus(store, conf, env.path);
    const ctx: Ctx = { env, conf, id, store };
    // Without readiness gates to wait for, ADD's first reads share the readiness check's round trip.
    const early = command === "ADD" && conf.readinessGates.length === 0 ? startAddReads(ctx) : undefined;
    prefetchModules(command, conf);
    await checkClusterReady(store);
    if (command === "ADD") {
      const result = await add(ctx, early);
      return `${JSON.stringify(formatResult(result, conf.cniVersion), null, 4)}\n`;
    }
    if (command === "DEL") await del(ctx);
    else await check(ctx);
    return undefined;
  } finally {
    await closeStore(store);
  }
}
