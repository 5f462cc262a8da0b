/**
 * Whether one dataplane rule (selectors and named ports already turned into IP sets) matches a
 * packet, given the IP sets' members: the same criteria, in the same combination, as the rule
 * renderer writes into the chain (lists ORed, criteria ANDed, `not` lists negated as a whole,
 * numeric ports and named-port sets alternatives, a rule of the other family absent).
 */

import { type CIDR, cidrContainsIP, type IPAddr, parseCIDR, parseIP } from "../../lib/net.js";
import type { IcmpMatch, PortRange, Rule } from "../calc/messages.js";
import { protocolNumber, ruleAppliesTo } from "../dataplane/rules/match.js";
import type { DesiredIPSet } from "../dataplane/state.js";
import { protocolName, type TracePacket } from "./packet.js";

export type IPSets = ReadonlyMap<string, DesiredIPSet>;

/** Parsed CIDR members per set object (a set is replaced, not mutated, between traces' states). */
const parsedNets = new WeakMap<Set<string>, CIDR[]>();

function netsOf(set: DesiredIPSet): CIDR[] {
  let nets = parsedNets.get(set.members);
  if (!nets) {
    nets = [];
    for (const m of set.members) {
      const c = parseCIDR(m, { allowBareIP: true });
      if (c) nets.push(c);
    }
    parsedNets.set(set.members, nets);
  }
  return nets;
}

function inNets(ip: IPAddr, nets: readonly string[]): boolean {
  return nets.some((n) => {
    const c = parseCIDR(n, { allowBareIP: true });
    return c !== undefined && cidrContainsIP(c, ip);
  });
}

function inSet(sets: IPSets, id: string, ip: IPAddr): boolean {
  const set = sets.get(id);
  return set !== undefined && netsOf(set).some((c) => cidrContainsIP(c, ip));
}

/** A named-port set holds `<ip>,<proto>:<port>` members. */
function inNamedPortSet(sets: IPSets, id: string, ip: IPAddr, protocol: number, port: number): boolean {
  const set = sets.get(id);
  if (!set) return false;
  const proto = protocolName(protocol);
  for (const m of set.members) {
    const comma = m.lastIndexOf(",");
    if (m.slice(comma + 1) !== `${proto}:${port}`) continue;
    const a = parseIP(m.slice(0, comma));
    if (a && a.family === ip.family && a.value === ip.value) return true;
  }
  return false;
}

function inRanges(port: number, ranges: readonly PortRange[]): boolean {
  return ranges.some((r) => port >= r.first && port <= r.last);
}

function icmpMatches(m: IcmpMatch, pkt: TracePacket): boolean {
  return (
    pkt.icmp !== undefined && pkt.icmp.type === m.type && (m.code === undefined || pkt.icmp.code === m.code)
  );
}

export function ruleMatches(rule: Rule, pkt: TracePacket, sets: IPSets): boolean {
  if (!ruleAppliesTo(rule, pkt.family)) return false;
  if (rule.protocol !== undefined && protocolNumber(rule.protocol) !== pkt.protocol) return false;
  if (rule.notProtocol !== undefined && protocolNumber(rule.notProtocol) === pkt.protocol) return false;
  const src = parseIP(pkt.src);
  const dst = parseIP(pkt.dst);
  if (!src || !dst) return false;
  const side = (ip: IPAddr, nets: string[], notNets: string[], ids: string[], notIds: string[]) =>
    (nets.length === 0 || inNets(ip, nets)) &&
    !(notNets.length > 0 && inNets(ip, notNets)) &&
    ids.every((id) => inSet(sets, id, ip)) &&
    !notIds.some((id) => inSet(sets, id, ip));
  if (!side(src, rule.srcNets, rule.notSrcNets, rule.srcIpSetIds, rule.notSrcIpSetIds)) return false;
  if (!side(dst, rule.dstNets, rule.notDstNets, rule.dstIpSetIds, rule.notDstIpSetIds)) return false;

  // A port match needs a transport header with ports; `icmp type` needs an ICMP packet.
  const ports = (
    ip: IPAddr,
    port: number | undefined,
    ranges: PortRange[],
    named: string[],
    notRanges: PortRange[],
    notNamed: string[],
  ): boolean => {
    if (ranges.length + named.length + notRanges.length + notNamed.length === 0) return true;
    if (port === undefined) return false;
    if (notRanges.length > 0 && inRanges(port, notRanges)) return false;
    if (notNamed.some((id) => inNamedPortSet(sets, id, ip, pkt.protocol, port))) return false;
    if (ranges.length + named.length === 0) return true;
    return inRanges(port, ranges) || named.some((id) => inNamedPortSet(sets, id, ip, pkt.protocol, port));
  };
  if (
    !ports(
      src,
      pkt.srcPort,
      rule.srcPorts,
      rule.srcNamedPortIpSetIds,
      rule.notSrcPorts,
      rule.notSrcNamedPortIpSetIds,
    )
  )
    return false;
  if (
    !ports(
      dst,
      pkt.dstPort,
      rule.dstPorts,
      rule.dstNamedPortIpSetIds,
      rule.notDstPorts,
      rule.notDstNamedPortIpSetIds,
    )
  )
    return false;
  const icmpProto = pkt.family === 4 ? 1 : 58;
  if (rule.icmp && (pkt.protocol !== icmpProto || !icmpMatches(rule.icmp, pkt))) return false;
  if (rule.notIcmp && (pkt.protocol !== icmpProto || icmpMatches(rule.notIcmp, pkt))) return false;
  return true;
}
