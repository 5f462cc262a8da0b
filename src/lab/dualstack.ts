/**
 * The lab's IPv6 half (`calico-lab up --ipv6`) and per-pod address and pool choice: the fabric's
 * IPv6 subnet, the calico-node settings that turn on IPv6 (autodetected node address, default
 * IPv6 pool, Felix IPv6 support), and the Kubernetes annotations a pod's `--ip`, `--pool` and
 * `--annotations` become — passed to the CNI plugin as the runtime passes what Calico would have
 * read from the Kubernetes API.
 */
import { runOk } from "../lib/exec.js";
import { parseCIDR, parseIP } from "../lib/net.js";

export const IPV6_FABRIC_GATEWAY = "fd00:30::fe";
export const IPV6_POD_CIDR = "fd10:244::/112";

export class DualStackError extends Error {}

export type Family = 4 | 6;

export const nodeIPv6 = (index: number) => `fd00:30::${index}`;

/**
 * calico-node's IPv6 settings: a dual-stack node autodetects its fabric address and gets the
 * lab's IPv6 pool; an IPv4-only lab asks for no IPv6 pool (calico-node would otherwise make a
 * random one, as Calico does).
 */
export function ipv6NodeEnv(ipv6: boolean): Record<string, string> {
  if (!ipv6) return { CALICO_IPV6POOL_CIDR: "none" };
  return {
    IP6: "autodetect",
    IP6_AUTODETECTION_METHOD: "interface=eth0",
    CALICO_IPV6POOL_CIDR: IPV6_POD_CIDR,
    FELIX_IPV6SUPPORT: "true",
  };
}

/** `nodad`: a tentative address would keep BIRD from binding its sessions for a second or two. */
export async function addFabricIPv6(fabricNs: string): Promise<void> {
  await runOk("ip", ["-n", fabricNs, "addr", "add", `${IPV6_FABRIC_GATEWAY}/64`, "dev", "br0", "nodad"]);
}

export async function addNodeIPv6(netns: string, index: number): Promise<string> {
  const ip = nodeIPv6(index);
  await runOk("ip", ["-n", netns, "addr", "add", `${ip}/64`, "dev", "eth0", "nodad"]);
  await runOk("ip", [
    "-n",
    netns,
    "-6",
    "route",
    "add",
    "default",
    "via",
    IPV6_FABRIC_GATEWAY,
    "dev",
    "eth0",
  ]);
  return ip;
}

/** `k=v,k=v`; a value may itself hold commas (JSON lists), so only a comma before `key=` splits. */
export function parseAnnotations(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? "")
    .split(/,(?=\s*[A-Za-z0-9][-A-Za-z0-9_./]*=)/)
    .map((s) => s.trim())
    .filter((s) => s)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new DualStackError(`annotation '${part}' is not key=value`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** `--ip ADDR[,ADDR6]`: at most one address per family. */
export function parsePinned(text: string): string[] {
  const addrs = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s);
  const seen = new Set<number>();
  for (const a of addrs) {
    const ip = parseIP(a);
    if (!ip) throw new DualStackError(`--ip '${a}' is not an IP address`);
    if (seen.has(ip.family)) throw new DualStackError(`--ip takes at most one IPv${ip.family} address`);
    seen.add(ip.family);
  }
  if (addrs.length === 0) throw new DualStackError("--ip needs an address");
  return addrs;
}

export function parseFamily(text: string, allowBoth: boolean): Family | "both" {
  if (text === "4" || text === "6") return Number(text) as Family;
  if (allowBoth && text === "both") return "both";
  throw new DualStackError(`--family must be 4, 6${allowBoth ? " or both" : ""}, not '${text}'`);
}

/**
 * The pod's annotations with `--ip` and `--pool` folded in. A pool is named by the family of its
 * CIDR (`ipv4pools` or `ipv6pools`), so `lookupPoolCidr` tells which one it is.
 */
export async function podAnnotations(
  opts: { annotations?: Record<string, string>; ip?: string[]; pool?: string },
  lookupPoolCidr: (name: string) => Promise<string | undefined>,
): Promise<Record<string, string>> {
  const out = { ...(opts.annotations ?? {}) };
  if (opts.ip) out["cni.projectcalico.org/ipAddrs"] = JSON.stringify(opts.ip);
  if (opts.pool) {
    const cidr = await lookupPoolCidr(opts.pool);
    const parsed = cidr ? parseCIDR(cidr) : undefined;
    if (!parsed) throw new DualStackError(`no IP pool named ${opts.pool}: see \`calicoctl get ippools\``);
    out[`cni.projectcalico.org/ipv${parsed.family}pools`] = JSON.stringify([opts.pool]);
  }
  return out;
}

export const familyOf = (address: string): Family => (address.includes(":") ? 6 : 4);

/** The pod's address of a family; `undefined` family means the pod's first address. */
export function addressFor(pod: { ip: string; ips?: string[] }, ref: string, family?: Family): string {
  const all = pod.ips ?? [pod.ip];
  if (family === undefined) return all[0] ?? "";
  const found = all.find((a) => familyOf(a) === family);
  if (!found) throw new DualStackError(`pod ${ref} has no IPv${family} address (it has ${all.join(", ")})`);
  return found;
}
