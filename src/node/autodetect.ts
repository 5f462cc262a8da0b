/**
 * IP autodetection, split into the pure choice — given the host's
 * interfaces as `ip -j addr` reports them — and the one kernel question `can-reach` needs. No
 * traffic is ever sent.
 */
import { cidrContainsIP, parseCIDR, parseIP } from "../lib/net.js";

export interface InterfaceAddrs {
  ifindex: number;
  ifname: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string }>;
}

const DEFAULT_EXCLUDES = [
  "^docker.*",
  "^cbr.*",
  "^dummy.*",
  "^podman.*",
  "^virbr.*",
  "^lxcbr.*",
  "^veth.*",
  "^lo",
  "^br-.*",
  "^cali.*",
  "^tunl.*",
  "^flannel.*",
  "^kube-ipvs.*",
  "^cni.*",
  "^vxlan\\.calico.*",
  "^vxlan-v6\\.calico.*",
  "^wireguard\\.cali.*",
  "^wg-v6\\.cali.*",
  "^nodelocaldns.*",
];

export class AutodetectError extends Error {}

export type Method =
  | { kind: "first-found"; skip: string[] }
  | { kind: "interface"; include: string[] }
  | { kind: "cidr"; cidrs: string[] }
  | { kind: "can-reach"; dest: string };

function list(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export function parseMethod(text: string | undefined): Method {
  const t = (text ?? "").trim();
  if (t === "" || t === "first-found") return { kind: "first-found", skip: [] };
  const eq = t.indexOf("=");
  const name = eq < 0 ? t : t.slice(0, eq);
  const arg = eq < 0 ? "" : t.slice(eq + 1);
  switch (name) {
    case "interface":
      return { kind: "interface", include: list(arg) };
    case "skip-interface":
      return { kind: "first-found", skip: list(arg) };
    case "cidr": {
      const cidrs = list(arg);
      for (const c of cidrs)
        if (!parseCIDR(c)) throw new AutodetectError(`invalid CIDR '${c}' in autodetection method '${t}'`);
      return { kind: "cidr", cidrs };
    }
    case "can-reach":
      if (!arg) throw new AutodetectError(`autodetection method '${t}' needs a destination`);
      return { kind: "can-reach", dest: arg };
    default:
      throw new AutodetectError(`invalid IP autodetection method '${t}'`);
  }
}

function regex(patterns: string[]): RegExp | undefined {
  if (patterns.length === 0) return undefined;
  try {
    return new RegExp(patterns.join("|"));
  } catch (err) {
    throw new AutodetectError(
      `invalid interface regex in '${patterns.join(",")}': ${(err as Error).message}`,
    );
  }
}

/** Global unicast: not loopback, link-local, multicast or unspecified. */
function validAddress(addr: string): boolean {
  const ip = parseIP(addr);
  if (!ip) return false;
  if (ip.family === 4) {
    const first = Number(addr.split(".")[0]);
    return first !== 127 && first !== 0 && first < 224 && !addr.startsWith("169.254.");
  }
  const lower = addr.toLowerCase();
  return !(lower === "::" || lower === "::1" || lower.startsWith("fe80:") || lower.startsWith("ff"));
}

/** `<ip>/<prefix>` of the first matching address, or undefined. Interfaces in reverse index order. */
export function chooseAddress(
  ifaces: readonly InterfaceAddrs[],
  family: 4 | 6,
  method: Method,
  reachSource?: string,
): string | undefined {
  const fam = family === 4 ? "inet" : "inet6";
  const include = method.kind === "interface" ? regex(method.include) : undefined;
  const exclude = method.kind === "first-found" ? regex([...DEFAULT_EXCLUDES, ...method.skip]) : undefined;
  const cidrs =
    method.kind === "cidr" ? method.cidrs.map((c) => parseCIDR(c)).filter((c) => c !== undefined) : [];
  for (const iface of [...ifaces].sort((a, b) => b.ifindex - a.ifindex)) {
    if (include && !include.test(iface.ifname)) continue;
    if (exclude?.test(iface.ifname)) continue;
    for (const a of iface.addr_info ?? []) {
      if (a.family !== fam || !validAddress(a.local)) continue;
      if (method.kind === "can-reach" && a.local !== reachSource) continue;
      if (method.kind === "cidr") {
        const ip = parseIP(a.local);
        if (!ip || !cidrs.some((c) => cidrContainsIP(c, ip))) continue;
      }
      return `${a.local}/${a.prefixlen}`;
    }
  }
  return undefined;
}
