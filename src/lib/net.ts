/**
 * IP address and CIDR arithmetic shared by validation, IPAM, routing and rule rendering.
 * Addresses are held as bigint so IPv6 arithmetic is exact; parsing uses ipaddr.js.
 */
import ipaddr from "ipaddr.js";

export type IPFamily = 4 | 6;

export interface IPAddr {
  family: IPFamily;
  value: bigint;
}

export interface CIDR {
  family: IPFamily;
  /** Address as written (host bits possibly set). */
  address: bigint;
  prefix: number;
}

export function familyBits(family: IPFamily): number {
  return family === 4 ? 32 : 128;
}

function bytesToBigint(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** Parses a plain IPv4 or IPv6 address (no prefix, no zone); undefined when invalid. */
export function parseIP(text: string): IPAddr | undefined {
  if (typeof text !== "string" || text.includes("%")) return undefined;
  // ipaddr.js accepts legacy IPv4 forms ("10.1", "0x0a.0.0.1"); Calico only accepts dotted quads.
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 4, value: bytesToBigint(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  if (text.includes(":") && ipaddr.IPv6.isValid(text)) {
    const v6 = ipaddr.IPv6.parse(text);
    return { family: 6, value: bytesToBigint(v6.toByteArray()) };
  }
  return undefined;
}

/** Parses `addr/prefix`; with `allowBareIP` a plain address means /32 or /128. */
export function parseCIDR(text: string, opts: { allowBareIP?: boolean } = {}): CIDR | undefined {
  if (typeof text !== "string") return undefined;
  const slash = text.indexOf("/");
  if (slash < 0) {
    if (!opts.allowBareIP) return undefined;
    const ip = parseIP(text);
    return ip && { family: ip.family, address: ip.value, prefix: familyBits(ip.family) };
  }
  const ip = parseIP(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > familyBits(ip.family)) return undefined;
  return { family: ip.family, address: ip.value, prefix };
}

export function hostMask(family: IPFamily, prefix: number): bigint {
  return (1n << BigInt(familyBits(family) - prefix)) - 1n;
}

/** The network address of a CIDR (host bits cleared). */
export function networkAddress(cidr: CIDR): bigint {
  return cidr.address & ~hostMask(cidr.family, cidr.prefix);
}

/** Host bits are all zero. */
export function isStrictlyMasked(cidr: CIDR): boolean {
  return (cidr.address & hostMask(cidr.family, cidr.prefix)) === 0n;
}

export function cidrSize(cidr: CIDR): bigint {
  return 1n << BigInt(familyBits(cidr.family) - cidr.prefix);
}

export function cidrContainsIP(cidr: CIDR, ip: IPAddr): boolean {
  return (
    cidr.family === ip.family && (ip.value & ~hostMask(cidr.family, cidr.prefix)) === networkAddress(cidr)
  );
}

/** `inner` lies entirely within `outer`. */
export function cidrContains(outer: CIDR, inner: CIDR): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    cidrContainsIP(outer, { family: inner.family, value: inner.address })
  );
}

export function cidrsOverlap(a: CIDR, b: CIDR): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

export function formatIP(ip: IPAddr): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
  }
  const bytes: number[] = [];
  for (let s = 120n; s >= 0n; s -= 8n) bytes.push(Number((ip.value >> s) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** Canonical `network/prefix` text (host bits cleared, IPv6 compressed). */
export function formatCIDR(cidr: CIDR): string {
  return `${formatIP({ family: cidr.family, value: networkAddress(cidr) })}/${cidr.prefix}`;
}

/** Canonical CIDR text of a CIDR or bare IP string; undefined when it does not parse. */
export function canonicalCIDR(text: string): string | undefined {
  const c = parseCIDR(text, { allowBareIP: true });
  return c && formatCIDR(c);
}
