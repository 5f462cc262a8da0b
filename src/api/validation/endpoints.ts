/** Node, HostEndpoint and WorkloadEndpoint rules. */
import { cidrContainsIP, familyBits, parseCIDR, parseIP } from "../../lib/net.js";
import { isPlainObject, isZeroValue, type PlainObject } from "../plain.js";
import { protocolError, protocolSupportsPorts } from "../values.js";
import { asArray, asObject, asString, isSet } from "./access.js";
import type { Issues } from "./errors.js";

export function checkNode(spec: PlainObject, issues: Issues): void {
  if (isPlainObject(spec.bgp) && isZeroValue(spec.bgp))
    issues.add("spec.bgp", "Spec.BGP should not be empty");
}

export function checkHostEndpoint(spec: PlainObject, issues: Issues): void {
  if (!isSet(spec.node)) issues.add("spec.node", "node must be specified");
  if (!isSet(spec.interfaceName) && !isSet(spec.expectedIPs)) {
    issues.add("spec", "at least one of interfaceName or expectedIPs must be specified");
  }
  asArray(spec.ports).forEach((p, i) => {
    const protocol = asObject(p).protocol;
    if (protocolError(protocol) === undefined && !protocolSupportsPorts(protocol)) {
      issues.add(`spec.ports[${i}].protocol`, "EndpointPort protocol does not support ports.", protocol);
    }
  });
}

function checkNetworks(spec: PlainObject, issues: Issues): void {
  asArray(spec.ipNetworks).forEach((n, i) => {
    const cidr = typeof n === "string" ? parseCIDR(n, { allowBareIP: true }) : undefined;
    if (!cidr) issues.add(`spec.ipNetworks[${i}]`, "invalid CIDR", n);
    else if (cidr.prefix !== familyBits(cidr.family)) {
      issues.add(`spec.ipNetworks[${i}]`, "IP network contains multiple addresses", n);
    }
  });
  const networks = asArray(spec.ipNetworks).flatMap((n) => {
    const c = typeof n === "string" ? parseCIDR(n, { allowBareIP: true }) : undefined;
    return c ? [c] : [];
  });
  asArray(spec.ipNATs).forEach((nat, i) => {
    const { internalIP, externalIP } = asObject(nat);
    const internal = typeof internalIP === "string" ? parseIP(internalIP) : undefined;
    const external = typeof externalIP === "string" ? parseIP(externalIP) : undefined;
    if (!internal) issues.add(`spec.ipNATs[${i}].internalIP`, "invalid IP address", internalIP);
    if (!external) issues.add(`spec.ipNATs[${i}].externalIP`, "invalid IP address", externalIP);
    if (internal && external && internal.family !== external.family) {
      issues.add(`spec.ipNATs[${i}].externalIP`, "mismatched IP versions", externalIP);
    }
    if (internal && !networks.some((c) => cidrContainsIP(c, internal))) {
      issues.add("spec.ipNATs", "NAT is not in the endpoint networks", internalIP);
    }
  });
}

/** The name against the spec's identifiers is the client's check (`workloadEndpointNameErrors`). */
export function checkWorkloadEndpoint(spec: PlainObject, issues: Issues): void {
  checkNetworks(spec, issues);
  asArray(spec.ports).forEach((p, i) => {
    const port = asObject(p);
    if (protocolError(port.protocol) === undefined && !protocolSupportsPorts(port.protocol)) {
      issues.add(
        `spec.ports[${i}].protocol`,
        "WorkloadEndpointPort protocol does not support ports.",
        port.protocol,
      );
    }
    if (!asString(port.name) && !port.hostPort) {
      issues.add(
        `spec.ports[${i}].name`,
        "WorkloadEndpointPort name must not be empty if no HostPort is specified",
      );
    }
  });
}
