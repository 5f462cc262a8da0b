/**
 * calico-node's start-up: choose the node name, detect or take
 * its addresses, write the Node resource (refusing an address another node already uses),
 * create the default IP pools when none of a family exists, and the default ClusterInformation,
 * tiers, FelixConfigurations and BGPConfiguration. Runs to completion or fails with a message
 * naming what is wrong, before writing anything it cannot finish.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { dirname } from "node:path";
import type { Resource } from "../api/index.js";
import { CalicoClient, ensureInitialized } from "../client/index.js";
import { ResourceAlreadyExistsError, ResourceNotFoundError, type ResourceStore } from "../datastore/index.js";
import { runOk } from "../lib/exec.js";
import { parseCIDR } from "../lib/net.js";
import { packageVersion } from "../lib/version.js";
import { parseSelector } from "../selector/index.js";
import { AutodetectError, chooseAddress, type InterfaceAddrs, parseMethod } from "./autodetect.js";

const API = "projectcalico.org/v3";
export const DEFAULT_NODENAME_FILE = "/var/lib/calico/nodename";

export class StartupError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

export function nodeNameFrom(env: Env, readFile: (p: string) => string | undefined): string {
  if (env.NODENAME?.trim()) return env.NODENAME.trim();
  const fromFile = readFile(env.CALICO_NODENAME_FILE || DEFAULT_NODENAME_FILE)?.trim();
  if (fromFile) return fromFile;
  if (env.HOSTNAME?.trim()) return env.HOSTNAME.trim().toLowerCase();
  return osHostname().trim().toLowerCase();
}

function bool(env: Env, name: string, dflt: boolean): boolean {
  const v = env[name];
  if (v === undefined || v === "") return dflt;
  return !["false", "0", "no", "n", "f"].includes(v.trim().toLowerCase());
}

function encapMode(env: Env, name: string): "Never" | "Always" | "CrossSubnet" {
  const v = (env[name] ?? "").trim().toLowerCase();
  if (v === "" || v === "never" || v === "off") return "Never";
  if (v === "always") return "Always";
  if (v === "crosssubnet" || v === "cross-subnet") return "CrossSubnet";
  throw new StartupError(`invalid ${name} '${env[name]}': expected never, always or cross-subnet`);
}

/** The default pool for a family, or undefined when disabled; validated before anything is written. */
export function defaultPool(env: Env, family: 4 | 6, fallbackCidr: string): Resource | undefined {
  const v = family === 4 ? "IPV4" : "IPV6";
  const cidrText = env[`CALICO_${v}POOL_CIDR`]?.trim() || fallbackCidr;
  if (cidrText.toLowerCase() === "none") return undefined;
  const cidr = parseCIDR(cidrText);
  if (!cidr || cidr.family !== family) throw new StartupError(`invalid CALICO_${v}POOL_CIDR '${cidrText}'`);
  const sizeText = env[`CALICO_${v}POOL_BLOCK_SIZE`]?.trim();
  const blockSize = sizeText ? Number(sizeText) : family === 4 ? 26 : 122;
  const [min, max] = family === 4 ? [20, 32] : [116, 128];
  if (!Number.isInteger(blockSize) || blockSize < min || blockSize > max)
    throw new StartupError(
      `invalid CALICO_${v}POOL_BLOCK_SIZE '${sizeText}': must be between ${min} and ${max}`,
    );
  const nodeSelector = env[`CALICO_${v}POOL_NODE_SELECTOR`]?.trim() || "all()";
  try {
    parseSelector(nodeSelector);
  } catch (err) {
    throw new StartupError(
      `invalid CALICO_${v}POOL_NODE_SELECTOR '${nodeSelector}': ${(err as Error).message}`,
    );
  }
  return {
    apiVersion: API,
    kind: "IPPool",
    metadata: { name: `default-ipv${family}-ippool` },
    spec: {
      cidr: cidrText,
      blockSize,
      ipipMode: family === 4 ? encapMode(env, "CALICO_IPV4POOL_IPIP") : "Never",
      vxlanMode: encapMode(env, `CALICO_${v}POOL_VXLAN`),
      natOutgoing: bool(env, `CALICO_${v}POOL_NAT_OUTGOING`, family === 4),
      nodeSelector,
      disableBGPExport: bool(env, `CALICO_${v}POOL_DISABLE_BGP_EXPORT`, false),
    },
  } as unknown as Resource;
}

/** A random unique-local /48 (`fd` and 40 random bits), Calico's IPv6 pool when none is given. */
export function randomUlaCidr(bytes: Buffer = randomBytes(5)): string {
  const b = [0xfd, ...bytes.subarray(0, 5)];
  const group = (i: number) => (((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16);
  return `${group(0)}:${group(2)}:${group(4)}::/48`;
}

/**
 * The IPv6 default pool, unless IPv6 is off: `FELIX_IPV6SUPPORT=false`, or a kernel without
 * IPv6. Validated with the IPv4 one, before anything is written.
 */
export function defaultIPv6Pool(
  env: Env,
  kernelHasIPv6 = existsSync("/proc/sys/net/ipv6"),
): Resource | undefined {
  if (!bool(env, "FELIX_IPV6SUPPORT", true) || !kernelHasIPv6) return undefined;
  return defaultPool(env, 6, randomUlaCidr());
}

async function interfaces(): Promise<InterfaceAddrs[]> {
  return JSON.parse((await runOk("ip", ["-j", "addr", "show"])).stdout || "[]") as InterfaceAddrs[];
}

async function routeSource(dest: string): Promise<string | undefined> {
  const out = await runOk("ip", ["-j", "route", "get", dest]);
  return (JSON.parse(out.stdout || "[]") as Array<{ prefsrc?: string }>)[0]?.prefsrc;
}

async function detect(env: Env, family: 4 | 6, current: string | undefined): Promise<string | undefined> {
  const name = family === 4 ? "IP" : "IP6";
  const value = (env[name] ?? "").trim();
  if (value.toLowerCase() === "none") return current;
  const auto = value.toLowerCase() === "autodetect" || (family === 4 && value === "" && !current);
  const ifaces = await interfaces();
  if (auto) {
    const method = parseMethod(env[`${name}_AUTODETECTION_METHOD`]);
    const src = method.kind === "can-reach" ? await routeSource(method.dest) : undefined;
    const found = chooseAddress(ifaces, family, method, src);
    if (!found && !current) throw new StartupError(`failed to autodetect an IPv${family} address`);
    return found ?? current;
  }
  if (value === "") return current;
  const cidr = parseCIDR(value, { allowBareIP: true });
  if (!cidr || cidr.family !== family)
    throw new StartupError(`invalid ${name} '${value}': not an IPv${family} address`);
  if (value.includes("/")) return value;
  for (const i of ifaces)
    for (const a of i.addr_info ?? []) if (a.local === value) return `${value}/${a.prefixlen}`;
  return `${value}/${family === 4 ? 32 : 128}`;
}

async function getOptional(store: ResourceStore, kind: string, name: string): Promise<Resource | undefined> {
  try {
    return await store.get({ kind, name });
  } catch (err) {
    if (err instanceof ResourceNotFoundError) return undefined;
    throw err;
  }
}

async function createIfMissing(client: CalicoClient, r: Resource): Promise<void> {
  try {
    await client.create(r);
  } catch (err) {
    if (!(err instanceof ResourceAlreadyExistsError)) throw err;
  }
}

export interface StartupResult {
  nodeName: string;
  ipv4?: string;
  ipv6?: string;
}

export async function runStartup(
  store: ResourceStore,
  env: Env,
  log: (msg: string) => void,
): Promise<StartupResult> {
  const client = new CalicoClient(store);
  const nodeName = nodeNameFrom(env, (p) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return undefined;
    }
  });
  log(`Starting calico-node for node ${nodeName}`);
  const backend = (env.CALICO_NETWORKING_BACKEND ?? "bird").toLowerCase();
  const existing = await getOptional(store, "Node", nodeName);
  const spec = { ...((existing?.spec as Record<string, unknown> | undefined) ?? {}) };
  const bgp = { ...((spec.bgp as Record<string, unknown> | undefined) ?? {}) };

  let ipv4: string | undefined;
  let ipv6: string | undefined;
  try {
    ipv4 = await detect(env, 4, bgp.ipv4Address as string | undefined);
    ipv6 = await detect(env, 6, bgp.ipv6Address as string | undefined);
  } catch (err) {
    if (err instanceof AutodetectError) throw new StartupError(err.message);
    throw err;
  }
  if (!ipv4 && !ipv6 && backend !== "none")
    throw new StartupError("no IPv4 or IPv6 addresses configured or detected");

  const mine = [ipv4, ipv6].filter((a): a is string => !!a).map((a) => a.split("/")[0]);
  for (const other of (await store.list("Node")).items) {
    if (other.metadata?.name === nodeName) continue;
    const ob =
      ((other.spec as Record<string, unknown> | undefined)?.bgp as Record<string, unknown> | undefined) ?? {};
    const theirs = [ob.ipv4Address, ob.ipv6Address]
      .filter((a) => typeof a === "string")
      .map((a) => String(a).split("/")[0]);
    const clash = mine.find((a) => theirs.includes(a));
    if (clash && !bool(env, "DISABLE_NODE_IP_CHECK", false))
      throw new StartupError(
        `conflicting node detected: ${other.metadata?.name} already uses address ${clash}`,
      );
  }

  if (backend !== "none") {
    if (ipv4) bgp.ipv4Address = ipv4;
    else delete bgp.ipv4Address;
    if (ipv6) bgp.ipv6Address = ipv6;
    else delete bgp.ipv6Address;
    if (env.AS?.trim()) bgp.asNumber = env.AS.trim();
    spec.bgp = bgp;
  }
  // Validate the pools before the first write, so bad pool settings leave nothing half-done.
  const pools = [
    bool(env, "NO_DEFAULT_POOLS", false) ? undefined : defaultPool(env, 4, "192.168.0.0/16"),
    bool(env, "NO_DEFAULT_POOLS", false) ? undefined : defaultIPv6Pool(env),
  ];
  const node = {
    apiVersion: API,
    kind: "Node",
    metadata: { ...(existing?.metadata ?? {}), name: nodeName },
    spec,
  } as unknown as Resource;
  if (!existing) await client.create(node);
  else if (JSON.stringify(existing.spec) !== JSON.stringify(spec)) await client.update(node);
  log(`Node ${nodeName} has addresses ${[ipv4, ipv6].filter((a) => a).join(", ")}`);

  const existingPools = (await store.list("IPPool")).items;
  for (const [i, pool] of pools.entries()) {
    const family = i === 0 ? 4 : 6;
    if (!pool) continue;
    const has = existingPools.some(
      (p) => String((p.spec as Record<string, unknown>).cidr ?? "").includes(":") === (family === 6),
    );
    if (!has) {
      await createIfMissing(client, pool);
      log(`Created default IPv${family} pool ${String((pool.spec as Record<string, unknown>).cidr)}`);
    }
  }

  await ensureInitialized(store, {
    calicoVersion: packageVersion(),
    ...(env.CLUSTER_TYPE ? { clusterType: env.CLUSTER_TYPE } : {}),
  });
  await createIfMissing(client, {
    apiVersion: API,
    kind: "FelixConfiguration",
    metadata: { name: "default" },
    spec: { reportingInterval: "0s", logSeverityScreen: "Info" },
  } as unknown as Resource);
  await createIfMissing(client, {
    apiVersion: API,
    kind: "FelixConfiguration",
    metadata: { name: `node.${nodeName}` },
    spec: { defaultEndpointToHostAction: "Return" },
  } as unknown as Resource);
  await createIfMissing(client, {
    apiVersion: API,
    kind: "BGPConfiguration",
    metadata: { name: "default" },
    spec: {},
  } as unknown as Resource);

  const file = env.CALICO_NODENAME_FILE || DEFAULT_NODENAME_FILE;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, nodeName);
  return { nodeName, ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}
