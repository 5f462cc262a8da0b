import type { IcmpMatch, PortRange, Rule } from "../../calc/messages.js";
import type { Family } from "../nft/model.js";
import { ipSetName } from "./names.js";

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132, udplite: 136 };

export function protocolNumber(p: string | number): number {
  if (typeof p === "number") return p;
  const n = PROTOCOLS[p.toLowerCase()] ?? Number(p);
  if (!Number.isInteger(n)) throw new Error(`unknown protocol ${p}`);
  return n;
}

function familyOf(cidr: string): Family {
  return cidr.includes(":") ? 6 : 4;
}

function anySet(values: readonly string[]): string {
  return values.length === 1 ? (values[0] as string) : `{ ${values.join(", ")} }`;
}

function ports(ranges: readonly PortRange[]): string {
  return anySet(ranges.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`)));
}

/**
 * Whether a rule can match packets of this family: an explicit ipVersion, a CIDR or an
 * ICMP-flavoured protocol pins it to one (validation keeps a rule's CIDRs to one family).
 */
export function ruleAppliesTo(rule: Rule, family: Family): boolean {
  if (rule.ipVersion !== undefined && rule.ipVersion !== family) return false;
  const nets = [...rule.srcNets, ...rule.notSrcNets, ...rule.dstNets, ...rule.notDstNets];
  if (nets.some((n) => familyOf(n) !== family)) return false;
  if (rule.protocol !== undefined) {
    const p = protocolNumber(rule.protocol);
    if ((p === 1 && family === 6) || (p === 58 && family === 4)) return false;
  }
  return true;
}

function icmp(family: Family, m: IcmpMatch, negate: boolean): string {
  const kw = family === 4 ? "icmp" : "icmpv6";
  const op = negate ? "!= " : "";
  if (m.code === undefined) return `${kw} type ${op}${m.type}`;
  if (!negate) return `${kw} type ${m.type} ${kw} code ${m.code}`;
  return `${kw} type . ${kw} code != { ${m.type} . ${m.code} }`;
}

type Side = "saddr" | "daddr";

/**
 * Numeric ports and named-port sets on one side are alternatives; nft cannot OR them inside one
 * rule, so each becomes its own variant of the rule.
 */
function portAlternatives(
  family: Family,
  ip: string,
  side: Side,
  nums: readonly PortRange[],
  sets: readonly string[],
): string[] {
  const th = side === "saddr" ? "th sport" : "th dport";
  const alts = nums.length > 0 ? [`${th} ${ports(nums)}`] : [];
  for (const id of sets) alts.push(`${ip} ${side} . meta l4proto . ${th} @${ipSetName(family, id)}`);
  return alts.length > 0 ? alts : [""];
}

/**
 * The match part of a rule for one family: one string per variant (their union is the rule's
 * match), or none when the rule cannot match this family. Lists are ORed through anonymous sets,
 * criteria ANDed by juxtaposition, negated lists negated as a whole.
 */
export function renderMatches(rule: Rule, family: Family): string[] {
  if (!ruleAppliesTo(rule, family)) return [];
  const ip = family === 4 ? "ip" : "ip6";
  const parts: string[] = [];
  if (rule.protocol !== undefined) parts.push(`meta l4proto ${protocolNumber(rule.protocol)}`);
  if (rule.notProtocol !== undefined) parts.push(`meta l4proto != ${protocolNumber(rule.notProtocol)}`);
  const addr = (side: Side, nets: string[], notNets: string[], sets: string[], notSets: string[]) => {
    if (nets.length > 0) parts.push(`${ip} ${side} ${anySet(nets)}`);
    if (notNets.length > 0) parts.push(`${ip} ${side} != ${anySet(notNets)}`);
    for (const id of sets) parts.push(`${ip} ${side} @${ipSetName(family, id)}`);
    for (const id of notSets) parts.push(`${ip} ${side} != @${ipSetName(family, id)}`);
  };
  addr("saddr", rule.srcNets, rule.notSrcNets, rule.srcIpSetIds, rule.notSrcIpSetIds);
  addr("daddr", rule.dstNets, rule.notDstNets, rule.dstIpSetIds, rule.notDstIpSetIds);
  if (rule.notSrcPorts.length > 0) parts.push(`th sport != ${ports(rule.notSrcPorts)}`);
  if (rule.notDstPorts.length > 0) parts.push(`th dport != ${ports(rule.notDstPorts)}`);
  for (const id of rule.notSrcNamedPortIpSetIds)
    parts.push(`${ip} saddr . meta l4proto . th sport != @${ipSetName(family, id)}`);
  for (const id of rule.notDstNamedPortIpSetIds)
    parts.push(`${ip} daddr . meta l4proto . th dport != @${ipSetName(family, id)}`);
  if (rule.icmp) parts.push(icmp(family, rule.icmp, false));
  if (rule.notIcmp) parts.push(icmp(family, rule.notIcmp, true));
  const base = parts.join(" ");
  const src = portAlternatives(family, ip, "saddr", rule.srcPorts, rule.srcNamedPortIpSetIds);
  const dst = portAlternatives(family, ip, "daddr", rule.dstPorts, rule.dstNamedPortIpSetIds);
  const out: string[] = [];
  for (const s of src) for (const d of dst) out.push([base, s, d].filter((x) => x !== "").join(" "));
  return out;
}
