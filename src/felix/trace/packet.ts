/**
 * The packet a trace follows: the first packet of a new connection (replies ride on conntrack).
 * Protocols are the ones Calico's rules know, by name or number; ports only for the protocols
 * that carry them.
 */
import type { IPFamily } from "../../lib/net.js";

export interface TracePacket {
  family: IPFamily;
  /** IANA protocol number. */
  protocol: number;
  src: string;
  dst: string;
  /** Present exactly when the protocol has ports (TCP, UDP, SCTP, UDP-Lite). */
  srcPort?: number;
  dstPort?: number;
  /** ICMP and ICMPv6 only. */
  icmp?: { type: number; code: number };
}

export class TraceInputError extends Error {}

const NAMES: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, udplite: 136, icmp: 1, icmpv6: 58 };

/** Protocols with source and destination ports. */
export const PORT_PROTOCOLS = new Set([6, 17, 132, 136]);

export function protocolName(n: number): string {
  return Object.entries(NAMES).find(([, v]) => v === n)?.[0] ?? String(n);
}

/** `tcp`, `UDP`, `icmpv6`, or a protocol number 1–255 (Calico's rule `protocol`). */
export function parseProtocol(text: string): number {
  const t = text.trim().toLowerCase();
  if (NAMES[t] !== undefined) return NAMES[t];
  if (/^\d+$/.test(t) && Number(t) >= 1 && Number(t) <= 255) return Number(t);
  throw new TraceInputError(
    `unknown protocol '${text}': use tcp, udp, sctp, udplite, icmp, icmpv6 or a number 1-255`,
  );
}

export function parsePortNumber(what: string, value: string | number): number {
  const n = typeof value === "number" ? value : /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new TraceInputError(`${what} '${value}' is out of range: want a whole number 1-65535`);
  return n;
}
