/**
 * The Kubernetes annotations Calico's plugin acts on: per-pod (and per-namespace) pool choice,
 * address families, and pinned addresses. Calico fetches the pod and its namespace from the
 * Kubernetes API; there is no API server here, so the runtime passes the annotations it would
 * have fetched in the network config's `args` (the CNI conventions' place for per-invocation
 * data): `"args": {"k8s": {"podAnnotations": {...}, "namespaceAnnotations": {...}}}`.
 * Pure: parsing and validation only; calico.ts acts on the outcome.
 */
import { formatIP, parseIP } from "../lib/net.js";
import type { IpamConf, NetConf } from "./config.js";
import { CniError, ErrorCode } from "./errors.js";

export const ANNOTATION = {
  ipv4Pools: "cni.projectcalico.org/ipv4pools",
  ipv6Pools: "cni.projectcalico.org/ipv6pools",
  ipFamilies: "cni.projectcalico.org/ipFamilies",
  ipAddrs: "cni.projectcalico.org/ipAddrs",
  ipAddrsNoIpam: "cni.projectcalico.org/ipAddrsNoIpam",
} as const;

export interface K8sAnnotations {
  pod: Record<string, string>;
  namespace: Record<string, string>;
}

/** What the annotations ask of this ADD. */
export interface AddressRequest {
  /** The IPAM settings after pool and family annotations are applied. */
  ipam: IpamConf;
  /** Pinned addresses to request from IPAM one by one (`ipAddrs`). */
  ipAddrs?: string[];
  /** Addresses to use without IPAM (`ipAddrsNoIpam`). */
  ipAddrsNoIpam?: string[];
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string"))
    throw new CniError(
      ErrorCode.invalidNetworkConfig,
      `invalid network config: field "${field}" must be an object of strings`,
    );
  return v as Record<string, string>;
}

/** The annotations the runtime passed, empty when it passed none. */
export function readAnnotations(raw: Record<string, unknown>): K8sAnnotations {
  const args = raw.args;
  const k8s = typeof args === "object" && args !== null ? (args as Record<string, unknown>).k8s : undefined;
  const obj = typeof k8s === "object" && k8s !== null ? (k8s as Record<string, unknown>) : {};
  return {
    pod: stringMap(obj.podAnnotations, "args.k8s.podAnnotations"),
    namespace: stringMap(obj.namespaceAnnotations, "args.k8s.namespaceAnnotations"),
  };
}

function jsonStrings(text: string, what: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new CniError(
      ErrorCode.internal,
      `error parsing ${what} '${text}' as JSON: ${(err as Error).message}`,
    );
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw new CniError(
      ErrorCode.internal,
      `error parsing ${what} '${text}': expected a JSON array of strings`,
    );
  return v as string[];
}

/** At most one address per family, as the CNI result can carry only that. */
export function validateAddresses(text: string, annotation: string): string[] {
  let list: string[];
  try {
    list = jsonStrings(text, "annotation");
  } catch (err) {
    throw new CniError(
      ErrorCode.internal,
      `failed to parse IPs ${text} for annotation "${annotation}": ${(err as Error).message}`,
    );
  }
  if (list.length === 0)
    throw new CniError(ErrorCode.internal, `annotation "${annotation}" specified but empty`);
  const seen = new Set<number>();
  return list.map((entry) => {
    const ip = parseIP(entry);
    if (!ip) throw new CniError(ErrorCode.internal, `invalid IP format: ${entry}`);
    if (seen.has(ip.family))
      throw new CniError(
        ErrorCode.internal,
        `cannot have more than one IPv${ip.family} address for "${annotation}" annotation`,
      );
    seen.add(ip.family);
    return formatIP(ip);
  });
}

/**
 * Applies the annotations to the request, with Calico's precedence: a pod annotation beats its
 * namespace's, which beats the network config. Pool and family annotations apply to calico-ipam
 * only; pinned addresses are refused with any other IPAM.
 */
export function addressRequest(conf: NetConf, a: K8sAnnotations): AddressRequest {
  const ipam = { ...conf.ipam };
  const pick = (key: string) => a.pod[key] || a.namespace[key] || "";
  if (conf.ipam.type === "calico-ipam") {
    const v4 = pick(ANNOTATION.ipv4Pools);
    const v6 = pick(ANNOTATION.ipv6Pools);
    const fam = pick(ANNOTATION.ipFamilies);
    if (v4) ipam.ipv4Pools = jsonStrings(v4, "IPv4 pools");
    if (v6) ipam.ipv6Pools = jsonStrings(v6, "IPv6 pools");
    if (fam) {
      const families = jsonStrings(fam, "ipFamilies");
      if (families.some((f) => f !== "IPv4" && f !== "IPv6"))
        throw new CniError(ErrorCode.internal, `error parsing ipFamilies: ${fam}`);
      ipam.assignIpv4 = families.includes("IPv4");
      ipam.assignIpv6 = families.includes("IPv6");
    }
  }
  const ipAddrs = a.pod[ANNOTATION.ipAddrs] ?? "";
  const noIpam = a.pod[ANNOTATION.ipAddrsNoIpam] ?? "";
  if (ipAddrs && noIpam)
    throw new CniError(
      ErrorCode.internal,
      "can't have both annotations: 'ipAddrs' and 'ipAddrsNoIpam' in use at the same time",
    );
  if (noIpam) {
    if (conf.ipam.type !== "calico-ipam")
      throw new CniError(
        ErrorCode.internal,
        `ipAddrsNoIpam is not compatible with configured IPAM: ${conf.ipam.type}`,
      );
    if (!conf.featureControl.ipAddrsNoIpam)
      throw new CniError(ErrorCode.internal, "requested feature is not enabled: ip_addrs_no_ipam");
    return { ipam, ipAddrsNoIpam: validateAddresses(noIpam, ANNOTATION.ipAddrsNoIpam) };
  }
  if (ipAddrs) {
    if (conf.ipam.type !== "calico-ipam")
      throw new CniError(
        ErrorCode.internal,
        `ipAddrs is not compatible with configured IPAM: ${conf.ipam.type}`,
      );
    return { ipam, ipAddrs: validateAddresses(ipAddrs, ANNOTATION.ipAddrs) };
  }
  return { ipam };
}

/** The config as a delegated IPAM plugin must see it: the same stdin with the pool choice applied. */
export function rawWithIpam(
  raw: Record<string, unknown>,
  before: IpamConf,
  after: IpamConf,
): Record<string, unknown> {
  const section = { ...((raw.ipam as Record<string, unknown> | undefined) ?? {}) };
  if (after.ipv4Pools !== before.ipv4Pools) section.ipv4_pools = after.ipv4Pools;
  if (after.ipv6Pools !== before.ipv6Pools) section.ipv6_pools = after.ipv6Pools;
  if (after.assignIpv4 !== before.assignIpv4 || after.assignIpv6 !== before.assignIpv6) {
    section.assign_ipv4 = String(after.assignIpv4);
    section.assign_ipv6 = String(after.assignIpv6);
  }
  return { ...raw, ipam: section };
}
