/**
 * Model rule → dataplane rule: selectors and named ports become IP-set IDs,
 * numeric ports become ranges, protocols are normalised, and each rule gets a stable ID.
 */
import { createHash } from "node:crypto";
import { parsePort } from "../../api/index.js";
import { parseSelector, type Selector, uniqueId } from "../../selector/index.js";
import type { IPSetSpec, NamedPortProtocol } from "./ipset-index.js";
import type { PortRange, Rule, RuleAction } from "./messages.js";
import type { ModelAction, ModelEntity, ModelRule } from "./model/types.js";

const ACTIONS: Record<ModelAction, RuleAction> = {
  allow: "allow",
  deny: "deny",
  "next-tier": "pass",
  log: "log",
};

const PROTOCOL_NAMES: Record<string, string> = {
  tcp: "tcp",
  udp: "udp",
  icmp: "icmp",
  icmpv6: "icmpv6",
  sctp: "sctp",
  udplite: "udplite",
};

const ALL = parseSelector("all()");

/** `TCP` → `tcp`; numeric strings become numbers. */
function normaliseProtocol(p: string | number): string | number {
  if (typeof p === "number") return p;
  if (/^\d+$/.test(p)) return Number(p);
  return PROTOCOL_NAMES[p.toLowerCase()] ?? p.toLowerCase();
}

/** Protocol a named port must carry: none given ⇒ any; UDP/SCTP by name or number; else TCP. */
function namedPortProtocol(protocol: string | number | undefined): NamedPortProtocol {
  if (protocol === undefined) return "any";
  const p = normaliseProtocol(protocol);
  if (p === "udp" || p === 17) return "udp";
  if (p === "sctp" || p === 132) return "sctp";
  return "tcp";
}

function splitPorts(ports: (string | number)[]): { ranges: PortRange[]; names: string[] } {
  const ranges: PortRange[] = [];
  const names: string[] = [];
  for (const p of ports) {
    const parsed = parsePort(p);
    if (!parsed.ok) continue;
    if (parsed.value.name) names.push(parsed.value.name);
    else ranges.push({ first: parsed.value.min, last: parsed.value.max });
  }
  return { ranges, names };
}

/** A positive selector absorbs a negated one; a lone negated selector stays separate. */
function combineSelectors(positive: string, negated: string): { positive: string; negated: string } {
  if (positive && negated) return { positive: `(${positive}) && (!(${negated}))`, negated: "" };
  return { positive, negated };
}

export function namedPortSetId(selector: Selector, protocol: NamedPortProtocol, port: string): string {
  return uniqueId("n", `${selector.uniqueId()},${protocol},${port}`);
}

interface SideResult {
  ipSetIds: string[];
  notIpSetIds: string[];
  namedPortIds: string[];
  notNamedPortIds: string[];
  ports: PortRange[];
  notPorts: PortRange[];
  selector?: string;
  notSelector?: string;
}

function convertSide(
  entity: ModelEntity,
  proto: NamedPortProtocol,
  sets: Map<string, IPSetSpec>,
): SideResult {
  const { positive, negated } = combineSelectors(entity.selector, entity.notSelector);
  const pos = positive ? parseSelector(positive) : undefined;
  const neg = negated ? parseSelector(negated) : undefined;
  const ports = splitPorts(entity.ports);
  const notPorts = splitPorts(entity.notPorts);

  // Named-port sets are filtered by the positive selector only: the rule can match only when
  // it holds anyway, whereas negated matches would need a union, not an intersection.
  const namedPortSets = (names: string[]): string[] =>
    names.map((name) => {
      const selector = pos ?? ALL;
      const id = namedPortSetId(selector, proto, name);
      sets.set(id, { id, selector, namedPort: { name, protocol: proto } });
      return id;
    });
  const selectorSet = (selector: Selector): string => {
    const id = selector.uniqueId();
    sets.set(id, { id, selector });
    return id;
  };

  const out: SideResult = {
    namedPortIds: namedPortSets(ports.names),
    notNamedPortIds: namedPortSets(notPorts.names),
    // With only named ports, their sets already carry the selector's constraint.
    ipSetIds: pos && (ports.ranges.length > 0 || ports.names.length === 0) ? [selectorSet(pos)] : [],
    notIpSetIds: neg ? [selectorSet(neg)] : [],
    ports: ports.ranges,
    notPorts: notPorts.ranges,
  };
  if (pos) out.selector = pos.toString();
  if (neg) out.notSelector = neg.toString();
  return out;
}

/**
 * Stable rule IDs: a SHA-224 chain seeded with the owner and direction, so an ID depends on the
 * rule and on every rule before it.
 */
function ruleIds(seed: string, rules: readonly unknown[]): string[] {
  let prev = createHash("sha224").update(seed).digest();
  return rules.map((r) => {
    prev = createHash("sha224").update(prev).update(JSON.stringify(r)).digest();
    return prev.toString("base64url").slice(0, 16);
  });
}

/** Converts one direction's rules, adding every IP set they need to `sets`. */
export function convertRules(
  rules: readonly ModelRule[],
  seed: string,
  sets: Map<string, IPSetSpec>,
): Rule[] {
  const ids = ruleIds(seed, rules);
  return rules.map((rule, i) => {
    const proto = namedPortProtocol(rule.protocol);
    const src = convertSide(rule.src, proto, sets);
    const dst = convertSide(rule.dst, proto, sets);
    const out: Rule = {
      action: ACTIONS[rule.action],
      srcNets: [...rule.src.nets],
      notSrcNets: [...rule.src.notNets],
      dstNets: [...rule.dst.nets],
      notDstNets: [...rule.dst.notNets],
      srcPorts: src.ports,
      notSrcPorts: src.notPorts,
      dstPorts: dst.ports,
      notDstPorts: dst.notPorts,
      srcNamedPortIpSetIds: src.namedPortIds,
      notSrcNamedPortIpSetIds: src.notNamedPortIds,
      dstNamedPortIpSetIds: dst.namedPortIds,
      notDstNamedPortIpSetIds: dst.notNamedPortIds,
      srcIpSetIds: src.ipSetIds,
      notSrcIpSetIds: src.notIpSetIds,
      dstIpSetIds: dst.ipSetIds,
      notDstIpSetIds: dst.notIpSetIds,
      ruleId: ids[i]!,
    };
    if (rule.ipVersion !== undefined) out.ipVersion = rule.ipVersion;
    if (rule.protocol !== undefined) out.protocol = normaliseProtocol(rule.protocol);
    if (rule.notProtocol !== undefined) out.notProtocol = normaliseProtocol(rule.notProtocol);
    if (rule.icmp) out.icmp = { ...rule.icmp };
    if (rule.notIcmp) out.notIcmp = { ...rule.notIcmp };
    if (src.selector) out.srcSelector = src.selector;
    if (src.notSelector) out.notSrcSelector = src.notSelector;
    if (dst.selector) out.dstSelector = dst.selector;
    if (dst.notSelector) out.notDstSelector = dst.notSelector;
    if (rule.annotations) out.annotations = { ...rule.annotations };
    return out;
  });
}
