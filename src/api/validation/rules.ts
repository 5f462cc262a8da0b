/** Rule and entity-rule combination checks plus policy-direction rules. */
import { isStrictlyMasked, parseCIDR } from "../../lib/net.js";
import { type PlainObject, textOf } from "../plain.js";
import {
  canonicalProtocol,
  parsePort,
  protocolError,
  protocolNumber,
  protocolSupportsPorts,
} from "../values.js";
import { asArray, asObject, asString, isSet } from "./access.js";
import type { Issues } from "./errors.js";
import { checkAnnotations } from "./meta.js";
import { globalCombinedError } from "./selector.js";

export const NUMERIC_PORTS_NEED_PROTOCOL =
  "rules with numeric port or port range must set protocol to TCP or UDP or SCTP";
export const PORTS_NEED_PORT_PROTOCOL = "rules that specify ports must set protocol to TCP or UDP or SCTP";

/** Which policy the rules belong to decides the direction-specific checks. */
export type RuleOwner = "namespaced" | "global" | "profile";
export type Direction = "ingress" | "egress";

const portFields = [
  ["source", "ports"],
  ["source", "notPorts"],
  ["destination", "ports"],
  ["destination", "notPorts"],
] as const;

function checkPorts(rule: PlainObject, path: string, issues: Issues): void {
  const protocol = rule.protocol;
  for (const [side, field] of portFields) {
    const ports = asArray(asObject(rule[side])[field]);
    const where = `${path}.${side}.${field}`;
    if (protocol === undefined || protocol === null) {
      const numeric = ports.some((p) => {
        const parsed = parsePort(p);
        return parsed.ok && parsed.value.name === undefined;
      });
      if (numeric) issues.add(where, NUMERIC_PORTS_NEED_PROTOCOL);
    } else if (
      protocolError(protocol) === undefined &&
      !protocolSupportsPorts(protocol) &&
      ports.length > 0
    ) {
      issues.add(where, PORTS_NEED_PORT_PROTOCOL);
    }
  }
}

function checkICMP(rule: PlainObject, path: string, issues: Issues): void {
  const proto = protocolNumber(rule.protocol);
  if (rule.icmp !== undefined && rule.icmp !== null && proto !== 1 && proto !== 58) {
    issues.add(`${path}.icmp`, "ICMP fields require protocol to be ICMP or ICMPv6");
  }
  for (const field of ["icmp", "notICMP"] as const) {
    const icmp = asObject(rule[field]);
    if (icmp.code !== undefined && icmp.code !== null && (icmp.type === undefined || icmp.type === null)) {
      issues.add(`${path}.${field}`, "ICMP code specified without an ICMP type");
    }
  }
  const ipVersion = rule.ipVersion;
  if (ipVersion === undefined || ipVersion === null) return;
  for (const field of ["protocol", "notProtocol"] as const) {
    const n = protocolNumber(rule[field]);
    if (n === 1 && ipVersion !== 4)
      issues.add(`${path}.${field}`, "protocol ICMP requires ipVersion 4", rule[field]);
    if (n === 58 && ipVersion !== 6)
      issues.add(`${path}.${field}`, "protocol ICMPv6 requires ipVersion 6", rule[field]);
  }
}

const CATCH_ALL_NEGATION = "catch-all CIDR in negation creates logical contradiction (matches no traffic)";

/** CIDR families must agree across all four net lists and with `ipVersion`. */
function checkNets(rule: PlainObject, path: string, issues: Issues): void {
  let seenV4 = false;
  let seenV6 = false;
  const ipVersion = rule.ipVersion;
  for (const [side, field] of [
    ["source", "nets"],
    ["source", "notNets"],
    ["destination", "nets"],
    ["destination", "notNets"],
  ] as const) {
    const where = `${path}.${side}.${field}`;
    const nets = asArray(asObject(rule[side])[field]);
    let v4 = false;
    let v6 = false;
    nets.forEach((n, i) => {
      const cidr = typeof n === "string" ? parseCIDR(n) : undefined;
      if (!cidr) {
        issues.add(`${where}[${i}]`, "invalid CIDR", n);
        return;
      }
      v4 ||= cidr.family === 4;
      v6 ||= cidr.family === 6;
      if (!isStrictlyMasked(cidr)) {
        issues.add(`${where}[${i}]`, "CIDR is not strictly masked", n);
      }
      const catchAll = cidr.family === 4 ? n === "0.0.0.0/0" : cidr.prefix === 0 && cidr.address === 0n;
      if (field === "notNets" && catchAll) issues.add(`${where}[${i}]`, CATCH_ALL_NEGATION, n);
    });
    if (typeof ipVersion === "number" && ((v4 && ipVersion !== 4) || (v6 && ipVersion !== 6))) {
      issues.add(where, "rule IP version doesn't match CIDR version");
    }
    if ((v4 && seenV6) || (v6 && seenV4) || (v4 && v6))
      issues.add(where, "rule contains both IPv4 and IPv6 CIDRs");
    seenV4 ||= v4;
    seenV6 ||= v6;
  }
}

function checkEntity(entity: PlainObject, path: string, issues: Issues): void {
  const ns = asString(entity.namespaceSelector);
  const globalErr = ns === undefined ? undefined : globalCombinedError(ns);
  if (globalErr) issues.add(`${path}.namespaceSelector`, globalErr, ns);
  if (entity.services === undefined || entity.services === null) return;
  const where = `${path}.services`;
  if (isSet(entity.namespaceSelector))
    issues.add(where, "cannot specify NamespaceSelector and Services on the same rule");
  if (entity.serviceAccounts !== undefined && entity.serviceAccounts !== null) {
    issues.add(where, "cannot specify ServiceAccounts and Services on the same rule");
  }
  if (!isSet(asObject(entity.services).name))
    issues.add(`${where}.name`, "services must specify a service name");
  if (isSet(entity.selector) || isSet(entity.notSelector)) {
    issues.add(where, "cannot specify Selector/NotSelector and Services on the same rule");
  }
  if (isSet(entity.nets) || isSet(entity.notNets)) {
    issues.add(where, "cannot specify Nets/NotNets and Services on the same rule");
  }
}

function httpPathError(p: PlainObject): string | undefined {
  const exact = asString(p.exact) ?? "";
  const prefix = asString(p.prefix) ?? "";
  if (exact && prefix) return "Invalid path match. Both 'exact' and 'prefix' are set";
  const v = exact || prefix;
  if (!v) return "Invalid path match. Either 'exact' or 'prefix' must be set";
  if (!v.startsWith("/") || /[? #]/.test(v)) {
    return `Invalid path ${v}. (must start with \`/\` and not contain \`?\` or \`#\``;
  }
  return undefined;
}

function checkHTTP(rule: PlainObject, path: string, issues: Issues): void {
  if (rule.http === undefined || rule.http === null) return;
  const where = `${path}.http`;
  const protocol = canonicalProtocol(rule.protocol);
  if (protocol !== undefined && protocol !== null && protocol !== "TCP" && protocol !== 6) {
    issues.add(where, "rules with HTTP match must have protocol TCP or unset");
  }
  if (rule.action !== "Allow") issues.add(where, "HTTP match is only valid on Allow rules");
  const http = asObject(rule.http);
  const methods = asArray(http.methods);
  if (new Set(methods).size !== methods.length) {
    issues.add(
      `${where}.methods`,
      `Invalid methods (duplicates): [${methods.map(textOf).join(" ")}]`,
      methods,
    );
  }
  for (const p of asArray(http.paths)) {
    const reason = httpPathError(asObject(p));
    if (reason) {
      issues.add(`${where}.paths`, reason);
      break;
    }
  }
}

function checkDirection(
  rule: PlainObject,
  path: string,
  direction: Direction,
  owner: RuleOwner,
  issues: Issues,
) {
  if (owner === "profile") return;
  const source = asObject(rule.source);
  const destination = asObject(rule.destination);
  if (direction === "egress") {
    if (source.services != null) issues.add(`${path}.source.services`, "not allowed in egress rule source");
    if (rule.http != null) {
      issues.add(
        `${path}.http`,
        owner === "global" ? "not allowed in egress rules" : "not allowed in egress rule",
      );
    }
  } else if (destination.services != null) {
    issues.add(`${path}.destination.services`, "not allowed in ingress rule destination");
  }
  if (owner !== "global") return;
  const services = asObject(direction === "egress" ? destination.services : source.services);
  const side = direction === "egress" ? "destination" : "source";
  const given = direction === "egress" ? destination.services : source.services;
  if (given != null && !isSet(services.namespace)) {
    issues.add(`${path}.${side}.services.namespace`, "must specify a namespace");
  }
}

function checkRule(
  rule: PlainObject,
  path: string,
  direction: Direction,
  owner: RuleOwner,
  issues: Issues,
): void {
  checkPorts(rule, path, issues);
  checkICMP(rule, path, issues);
  checkNets(rule, path, issues);
  checkEntity(asObject(rule.source), `${path}.source`, issues);
  checkEntity(asObject(rule.destination), `${path}.destination`, issues);
  const destination = asObject(rule.destination);
  if (destination.services != null && (isSet(destination.ports) || isSet(destination.notPorts))) {
    issues.add(`${path}.destination`, "ports and notPorts cannot be specified with services");
  }
  checkHTTP(rule, path, issues);
  checkAnnotations(asObject(rule.metadata).annotations, `${path}.metadata.annotations`, issues);
  checkDirection(rule, path, direction, owner, issues);
}

/** Checks every rule in `rules` (an ingress or egress list found at `path`). */
export function checkRules(
  rules: unknown,
  path: string,
  direction: Direction,
  owner: RuleOwner,
  issues: Issues,
): void {
  asArray(rules).forEach((rule, i) => {
    if (rule !== null && typeof rule === "object" && !Array.isArray(rule)) {
      checkRule(rule as PlainObject, `${path}[${i}]`, direction, owner, issues);
    }
  });
}
