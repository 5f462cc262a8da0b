/**
 * Failsafe ports (`FailsafeInboundHostPorts` / `FailsafeOutboundHostPorts`): traffic every host
 * endpoint lets through whatever its policy says, so a bad policy cannot cut a node off from its
 * SSH, BGP, etcd and API server. Config text is `proto:port` or `proto:net:port` (IPv6 nets in
 * brackets), comma-separated; `none` (or an empty value) means no failsafe ports at all.
 */
import { parseCIDR } from "../../../lib/net.js";

export interface FailsafePort {
  protocol: "tcp" | "udp" | "sctp";
  port: number;
  /** Restricts the rule to one family: the peer's CIDR (source inbound, destination outbound). */
  net?: string;
}

const fs = (protocol: FailsafePort["protocol"], port: number): FailsafePort => ({ protocol, port });

/** Calico's defaults: SSH, DHCP, BGP, etcd, Typha, the Kubernetes API and its proxy ports. */
export const DEFAULT_FAILSAFE_INBOUND: readonly FailsafePort[] = [
  fs("tcp", 22),
  fs("udp", 68),
  fs("tcp", 179),
  fs("tcp", 2379),
  fs("tcp", 2380),
  fs("tcp", 5473),
  fs("tcp", 6443),
  fs("tcp", 6666),
  fs("tcp", 6667),
];

export const DEFAULT_FAILSAFE_OUTBOUND: readonly FailsafePort[] = [
  fs("udp", 53),
  fs("udp", 67),
  fs("tcp", 179),
  fs("tcp", 2379),
  fs("tcp", 2380),
  fs("tcp", 5473),
  fs("tcp", 6443),
  fs("tcp", 6666),
  fs("tcp", 6667),
];

function parseEntry(param: string, entry: string): FailsafePort {
  const m = /^(?:(tcp|udp|sctp):)?(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/i.exec(entry.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${param}: invalid entry "${entry}" (want proto:port or proto:net:port)`);
  const protocol = (m[1] ?? "tcp").toLowerCase() as FailsafePort["protocol"];
  const rawNet = m[2]?.replace(/^\[|\]$/g, "");
  if (rawNet === undefined) return { protocol, port };
  if (!parseCIDR(rawNet, { allowBareIP: true }))
    throw new Error(`${param}: invalid net "${rawNet}" in "${entry}"`);
  return { protocol, port, net: rawNet };
}

/** The effective list for a config value; `undefined` keeps Calico's default. */
export function parseFailsafePorts(
  param: string,
  value: string | undefined,
  defaults: readonly FailsafePort[],
): FailsafePort[] {
  if (value === undefined) return [...defaults];
  const text = value.trim();
  if (text === "" || text.toLowerCase() === "none") return [];
  return text.split(",").map((e) => parseEntry(param, e));
}
