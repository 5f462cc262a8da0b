/**
 * A rule's match criteria in iptables syntax, per family. Lists that iptables
 * cannot OR within one rule (several CIDRs, numeric ports beside named-port sets, more than 15
 * ports) become several rules, the union of which is the rule's match; negated lists become
 * several negated matches, all of which must hold.
 */
import ipaddr from "ipaddr.js";
import type { IcmpMatch, PortRange, Rule } from "../../calc/messages.js";
import { ipsetName } from "../ipsets/ipsets.js";
import type { Family } from "../nft/model.js";
import { protocolNumber, ruleAppliesTo } from "../rules/match.js";

const MULTIPORT_MAX = 15;

function portSpec(r: PortRange): string {
  return r.first === r.last ? `${r.first}` : `${r.first}:${r.last}`;
}

/** Multiport takes 15 slots per match and a range uses two. */
function portChunks(ranges: readonly PortRange[]): string[] {
  const chunks: string[] = [];
  let cur: string[] = [];
  let used = 0;
  for (const r of ranges) {
    const cost = r.first === r.last ? 1 : 2;
    if (used + cost > MULTIPORT_MAX) {
      chunks.push(cur.join(","));
      cur = [];
      used = 0;
    }
    cur.push(portSpec(r));
    used += cost;
  }
  if (cur.length > 0) chunks.push(cur.join(","));
  return chunks;
}

function cidrRange(cidr: string): string {
  const [addr, len] = ipaddr.parseCIDR(
    cidr.includes("/") ? cidr : `${cidr}/${cidr.includes(":") ? 128 : 32}`,
  );
  const first = ipaddr.IPv4.isValid(addr.toString())
    ? ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${len}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${len}`);
  const last = ipaddr.IPv4.isValid(addr.toString())
    ? ipaddr.IPv4.broadcastAddressFromCIDR(`${addr}/${len}`)
    : ipaddr.IPv6.broadcastAddressFromCIDR(`${addr}/${len}`);
  return `${first.toString()}-${last.toString()}`;
}

function icmpMatch(family: Family, m: IcmpMatch, negate: boolean): string {
  const mod = family === 4 ? "-m icmp" : "-m icmp6";
  const opt = family === 4 ? "--icmp-type" : "--icmpv6-type";
  const value = m.code === undefined ? `${m.type}` : `${m.type}/${m.code}`;
  return `${mod} ${negate ? "! " : ""}${opt} ${value}`;
}

type Side = "src" | "dst";

function alternatives(
  family: Family,
  side: Side,
  ports: readonly PortRange[],
  namedPortSets: readonly string[],
): string[] {
  const flag = side === "src" ? "--sports" : "--dports";
  const alts = portChunks(ports).map((c) => `-m multiport ${flag} ${c}`);
  for (const id of namedPortSets) alts.push(`-m set --match-set ${ipsetName(family, id)} ${side},${side}`);
  return alts.length > 0 ? alts : [""];
}

/** One string per rule variant; none when the rule cannot match this family. */
export function renderIptablesMatches(rule: Rule, family: Family): string[] {
  if (!ruleAppliesTo(rule, family)) return [];
  const fixed: string[] = [];
  if (rule.protocol !== undefined) fixed.push(`-p ${protocolNumber(rule.protocol)}`);
  if (rule.notProtocol !== undefined) fixed.push(`! -p ${protocolNumber(rule.notProtocol)}`);
  const negNets = (side: Side, nets: readonly string[]) => {
    if (nets.length === 1) fixed.push(`! ${side === "src" ? "-s" : "-d"} ${nets[0]}`);
    else for (const n of nets) fixed.push(`-m iprange ! --${side}-range ${cidrRange(n)}`);
  };
  negNets("src", rule.notSrcNets);
  negNets("dst", rule.notDstNets);
  for (const id of rule.srcIpSetIds) fixed.push(`-m set --match-set ${ipsetName(family, id)} src`);
  for (const id of rule.notSrcIpSetIds) fixed.push(`-m set ! --match-set ${ipsetName(family, id)} src`);
  for (const id of rule.dstIpSetIds) fixed.push(`-m set --match-set ${ipsetName(family, id)} dst`);
  for (const id of rule.notDstIpSetIds) fixed.push(`-m set ! --match-set ${ipsetName(family, id)} dst`);
  for (const c of portChunks(rule.notSrcPorts)) fixed.push(`-m multiport ! --sports ${c}`);
  for (const c of portChunks(rule.notDstPorts)) fixed.push(`-m multiport ! --dports ${c}`);
  for (const id of rule.notSrcNamedPortIpSetIds)
    fixed.push(`-m set ! --match-set ${ipsetName(family, id)} src,src`);
  for (const id of rule.notDstNamedPortIpSetIds)
    fixed.push(`-m set ! --match-set ${ipsetName(family, id)} dst,dst`);
  if (rule.icmp) fixed.push(icmpMatch(family, rule.icmp, false));
  if (rule.notIcmp) fixed.push(icmpMatch(family, rule.notIcmp, true));

  const srcNets = rule.srcNets.length > 0 ? rule.srcNets.map((n) => `-s ${n}`) : [""];
  const dstNets = rule.dstNets.length > 0 ? rule.dstNets.map((n) => `-d ${n}`) : [""];
  const srcPorts = alternatives(family, "src", rule.srcPorts, rule.srcNamedPortIpSetIds);
  const dstPorts = alternatives(family, "dst", rule.dstPorts, rule.dstNamedPortIpSetIds);
  const out: string[] = [];
  for (const s of srcNets)
    for (const d of dstNets)
      for (const sp of srcPorts)
        for (const dp of dstPorts) {
          // -s/-d and -p must precede the protocol-dependent matches.
          out.push([s, d, ...fixed, sp, dp].filter((x) => x !== "").join(" "));
        }
  return out;
}
