/** FelixConfiguration rules beyond the per-field schema. */
import { parseCIDR, parseIP } from "../../lib/net.js";
import { parseGoDuration } from "../duration.js";
import { isPlainObject, type PlainObject } from "../plain.js";
import { isNamedPort } from "../values.js";
import { asArray, asObject, asString } from "./access.js";
import type { Issues } from "./errors.js";
import { isDNS1123Label } from "./k8s-names.js";

const MAX_ROUTE_TABLE = 0xffffffff;
const MAX_DESIGNATED_TABLES = 0xffff;
const healthNameRegex = /^[a-zA-Z0-9_ -]+$/;
const interfaceRegex = /^[a-zA-Z0-9_.-]{1,15}$/;

function checkRouteTables(spec: PlainObject, issues: Issues): void {
  if (spec.routeTableRange != null && spec.routeTableRanges != null) {
    issues.add("spec.routeTableRanges", "routeTableRange and routeTableRanges cannot both be set");
  }
  if (isPlainObject(spec.routeTableRange)) {
    const { min, max } = spec.routeTableRange;
    if (typeof min === "number" && typeof max === "number" && !(min >= 1 && max >= min && max <= 250)) {
      issues.add("spec.routeTableRange", "must be a range of route table indices within 1..250");
    }
  }
  let tables = 0;
  asArray(spec.routeTableRanges).forEach((r, i) => {
    const { min, max } = asObject(r);
    if (typeof min !== "number" || typeof max !== "number") return;
    const where = `spec.routeTableRanges[${i}]`;
    if (min > max) issues.add(where, "min value cannot be greater than max value");
    if (min <= 0) issues.add(where, "cannot target indices < 1");
    if (max > MAX_ROUTE_TABLE) issues.add(where, "max index too high");
    tables += max - min + 1;
  });
  if (tables > MAX_DESIGNATED_TABLES) issues.add("spec.routeTableRanges", "targets too many tables");
}

function checkAddresses(spec: PlainObject, issues: Issues): void {
  const natOut = asString(spec.natOutgoingAddress);
  if (natOut && parseIP(natOut)?.family !== 4) {
    issues.add("spec.natOutgoingAddress", "natOutgoingAddress must be a valid IPv4 address", natOut);
  }
  const src4 = asString(spec.deviceRouteSourceAddress);
  if (src4 && parseIP(src4)?.family !== 4) {
    issues.add(
      "spec.deviceRouteSourceAddress",
      "deviceRouteSourceAddress must be a valid IPv4 address",
      src4,
    );
  }
  const src6 = asString(spec.deviceRouteSourceAddressIPv6);
  if (src6 && parseIP(src6)?.family !== 6) {
    issues.add(
      "spec.deviceRouteSourceAddressIPv6",
      "deviceRouteSourceAddressIPv6 must be a valid IPv6 address",
      src6,
    );
  }
  asArray(spec.externalNodesList).forEach((c, i) => {
    const cidr = typeof c === "string" ? parseCIDR(c, { allowBareIP: true }) : undefined;
    if (!cidr) issues.add(`spec.externalNodesList[${i}]`, "has invalid CIDR(s)", c);
    else if (cidr.family !== 4) issues.add(`spec.externalNodesList[${i}]`, "has invalid IPv6 CIDR", c);
  });
}

function checkPorts(spec: PlainObject, issues: Issues): void {
  for (const field of ["failsafeInboundHostPorts", "failsafeOutboundHostPorts"]) {
    asArray(spec[field]).forEach((pp, i) => {
      const protocol = asObject(pp).protocol;
      if (protocol !== "TCP" && protocol !== "UDP" && protocol !== "SCTP") {
        issues.add(
          `spec.${field}[${i}].protocol`,
          "protocol must be 'TCP' or 'UDP' or 'SCTP'.",
          protocol ?? "",
        );
      }
    });
  }
  const ranges = spec.kubeNodePortRanges;
  if (Array.isArray(ranges)) {
    if (ranges.length > 7) issues.add("spec.kubeNodePortRanges", "node port ranges list is too long (max 7)");
    if (ranges.some(isNamedPort))
      issues.add("spec.kubeNodePortRanges", "node port ranges should not contain named ports");
  }
}

function checkMisc(spec: PlainObject, issues: Issues): void {
  const region = asString(spec.openstackRegion);
  if (region && region.length > 63 - "openstack-region-".length) {
    issues.add("spec.openstackRegion", "is too long", region);
  } else if (region && !isDNS1123Label(region)) {
    issues.add("spec.openstackRegion", "must be a valid DNS label", region);
  }
  asArray(spec.healthTimeoutOverrides).forEach((o, i) => {
    const { name, timeout } = asObject(o);
    if (typeof name !== "string" || !healthNameRegex.test(name)) {
      issues.add(
        `spec.healthTimeoutOverrides[${i}].name`,
        `name should match regex ${healthNameRegex.source}`,
        name,
      );
    }
    const nanos = typeof timeout === "string" ? parseGoDuration(timeout) : undefined;
    if (nanos !== undefined && nanos < 0n) {
      issues.add(`spec.healthTimeoutOverrides[${i}].timeout`, "Timeout should not be negative", timeout);
    }
  });
  if (isPlainObject(spec.bpfLogFilters)) {
    for (const key of Object.keys(spec.bpfLogFilters)) {
      if (!interfaceRegex.test(key)) issues.add("spec.bpfLogFilters", "invalid interface name", key);
    }
  }
}

/**
 * `default` is cluster-wide and `node.<name>` per node; both forbid `nodeSelector`. Any other
 * name is selector-scoped and only takes effect on nodes its `nodeSelector` matches.
 */
export function checkFelixConfiguration(name: unknown, spec: PlainObject, issues: Issues): void {
  const perClusterOrNode = name === "default" || (typeof name === "string" && name.startsWith("node."));
  if (perClusterOrNode && spec.nodeSelector !== undefined && spec.nodeSelector !== null) {
    issues.add(
      "spec.nodeSelector",
      "nodeSelector must not be set on the 'default' or per-node ('node.*') FelixConfiguration",
      spec.nodeSelector,
    );
  }
  checkRouteTables(spec, issues);
  checkAddresses(spec, issues);
  checkPorts(spec, issues);
  checkMisc(spec, issues);
}
