import ipaddr from "ipaddr.js";
import { protocolNumber } from "../rules/match.js";
import type { Family, SetKind } from "./model.js";

/**
 * Set elements in the one text form the kernel's listing also normalises to, so desired and
 * observed sets compare as strings: hosts without a prefix, IPv6 in RFC 5952 form, protocols as
 * numbers.
 */

export function familyOfAddress(addr: string): Family {
  return addr.includes(":") ? 6 : 4;
}

/** A dotted quad already in canonical form (no leading zeros): the common case, kept off the slow parser. */
const PLAIN_V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function canonicalAddr(addr: string): string {
  if (PLAIN_V4.test(addr)) return addr;
  const a = ipaddr.parse(addr);
  return a.kind() === "ipv6" ? (a as ipaddr.IPv6).toRFC5952String() : a.toString();
}

export function canonicalNet(cidr: string): string {
  const [addr, len] = cidr.split("/");
  const a = canonicalAddr(addr as string);
  const full = familyOfAddress(a) === 4 ? 32 : 128;
  return len === undefined || Number(len) === full ? a : `${a}/${len}`;
}

export function canonicalAddrPort(addr: string, proto: string | number, port: string | number): string {
  return `${canonicalAddr(addr)} . ${protocolNumber(proto)} . ${Number(port)}`;
}

/** `<ip>,<proto>:<port>` from the calc graph. */
function parseIpPort(member: string): { addr: string; proto: string; port: string } {
  const comma = member.lastIndexOf(",");
  const [proto, port] = member.slice(comma + 1).split(":");
  return { addr: member.slice(0, comma), proto: proto as string, port: port as string };
}

function contains(
  outer: [ipaddr.IPv4 | ipaddr.IPv6, number],
  inner: [ipaddr.IPv4 | ipaddr.IPv6, number],
): boolean {
  return outer[1] <= inner[1] && inner[0].kind() === outer[0].kind() && inner[0].match(outer);
}

/** Interval sets reject overlapping elements; a net inside another adds nothing, so drop it. */
function withoutOverlaps(cidrs: string[]): string[] {
  // Distinct single addresses cannot overlap; only real nets need the pairwise check.
  if (cidrs.every((c) => !c.includes("/"))) return cidrs;
  const parsed = cidrs
    .map((c) => ({
      c,
      p: ipaddr.parseCIDR(c.includes("/") ? c : `${c}/${familyOfAddress(c) === 4 ? 32 : 128}`),
    }))
    .sort((a, b) => a.p[1] - b.p[1]);
  const kept: typeof parsed = [];
  for (const x of parsed) if (!kept.some((k) => contains(k.p, x.p))) kept.push(x);
  return kept.map((k) => k.c);
}

/** The calc graph's members of one set, restricted to one family, as sorted nft elements. */
export function setElements(kind: SetKind, family: Family, members: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const m of members) {
    if (kind === "addr-port") {
      const { addr, proto, port } = parseIpPort(m);
      if (familyOfAddress(addr) === family) out.add(canonicalAddrPort(addr, proto, port));
    } else if (familyOfAddress(m) === family) {
      out.add(kind === "addr" ? canonicalAddr(m.split("/")[0] as string) : canonicalNet(m));
    }
  }
  const list = kind === "net" ? withoutOverlaps([...out]) : [...out];
  return list.sort();
}
