/** BGPConfiguration, BGPPeer and BGPFilter rules. */
import { isStrictlyMasked, parseCIDR, parseIP } from "../../lib/net.js";
import { isPlainObject, type PlainObject } from "../plain.js";
import { asArray, asObject, asString, isSet } from "./access.js";
import type { Issues } from "./errors.js";
import { splitIPPort } from "./formats.js";

const standardCommunity = /^(\d+):(\d+)$/;
const largeCommunity = /^(\d+):(\d+):(\d+)$/;

/**
 * Checks a community value's parts; returns false when it is not in `aa:nn` / `aa:nn:mm` form
 * at all (it may then be the name of a defined community).
 */
function checkCommunityValue(value: string, field: string, issues: Issues): boolean {
  const large = largeCommunity.test(value);
  if (!large && !standardCommunity.test(value)) return false;
  const bits = large ? 32 : 16;
  const limit = large ? 4294967295 : 65535;
  for (const part of value.split(":")) {
    if (Number(part) > limit) issues.add(field, `invalid community value, expected ${bits} bit value`, value);
  }
  return true;
}

/** Fields only the cluster-wide `default` object may carry, with Calico's wording. */
const defaultOnlyFields: [string, string][] = [
  ["nodeToNodeMeshEnabled", "nodeToNodeMeshEnabled"],
  ["asNumber", "ASNumber"],
  ["serviceLoadBalancerIPs", "ServiceLoadBalancerIPs"],
  ["serviceExternalIPs", "ServiceExternalIPs"],
  ["serviceClusterIPs", "ServiceClusterIPs"],
  ["nodeMeshPassword", "nodeMeshPassword"],
  ["nodeMeshMaxRestartTime", "nodeMeshMaxRestartTime"],
];

export function checkBGPConfiguration(name: unknown, spec: PlainObject, issues: Issues): void {
  if (name !== "default") {
    for (const [field, label] of defaultOnlyFields) {
      const v = spec[field];
      const set = Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null;
      if (set) issues.add(`spec.${field}`, `Cannot set ${label} on a non default BGP Configuration.`);
    }
  }
  const meshOff = spec.nodeToNodeMeshEnabled === false;
  if (meshOff && spec.nodeMeshPassword != null) {
    issues.add("spec.nodeMeshPassword", "nodeMeshPassword cannot be set when nodeToNodeMeshEnabled is false");
  }
  if (meshOff && spec.nodeMeshMaxRestartTime != null) {
    issues.add(
      "spec.nodeMeshMaxRestartTime",
      "nodeMeshMaxRestartTime cannot be set when nodeToNodeMeshEnabled is false",
    );
  }
  const communities = asArray(spec.communities);
  if (communities.length > 0 && !isSet(spec.prefixAdvertisements)) {
    issues.add("spec.communities", "communities are defined but not used in prefixAdvertisements");
  }
  communities.forEach((c, i) => {
    const value = asString(asObject(c).value);
    if (value && !checkCommunityValue(value, `spec.communities[${i}].value`, issues)) {
      issues.add(`spec.communities[${i}].value`, "invalid community value or format used.", value);
    }
  });
  const names = new Set(communities.map((c) => asObject(c).name));
  asArray(spec.prefixAdvertisements).forEach((pa, i) => {
    const advert = asObject(pa);
    const cidrText = asString(advert.cidr);
    if (cidrText) {
      const cidr = parseCIDR(cidrText, { allowBareIP: true });
      if (!cidr) issues.add(`spec.prefixAdvertisements[${i}].cidr`, "invalid CIDR value.", cidrText);
      else if (!isStrictlyMasked(cidr))
        issues.add(`spec.prefixAdvertisements[${i}].cidr`, "CIDR is not strictly masked", cidrText);
    }
    asArray(advert.communities).forEach((v, j) => {
      const field = `spec.prefixAdvertisements[${i}].communities[${j}]`;
      if (typeof v === "string" && !checkCommunityValue(v, field, issues) && !names.has(v)) {
        issues.add(field, "community used is invalid or not defined.", v);
      }
    });
  });
}

export function checkBGPPeer(spec: PlainObject, issues: Issues): void {
  if (isSet(spec.node) && isSet(spec.nodeSelector))
    issues.add("spec.nodeSelector", "node and nodeSelector cannot both be set");
  if (isSet(spec.peerIP) && isSet(spec.peerSelector))
    issues.add("spec.peerSelector", "peerIP and peerSelector cannot both be set");
  const asNumberSet = spec.asNumber !== undefined && spec.asNumber !== null && spec.asNumber !== 0;
  if (isSet(spec.peerSelector) && asNumberSet)
    issues.add("spec.asNumber", "asNumber must be empty when peerSelector is set");
  if (isSet(spec.localWorkloadSelector)) {
    if (isSet(spec.peerIP))
      issues.add("spec.peerIP", "peerIP must be empty when localWorkloadSelector is set");
    if (isSet(spec.peerSelector)) {
      issues.add("spec.peerSelector", "peerSelector must be empty when localWorkloadSelector is set");
    }
    if (!asNumberSet) issues.add("spec.asNumber", "asNumber is required when localWorkloadSelector is set");
  }
  if (isSet(spec.reachableBy) && !isSet(spec.peerIP)) {
    issues.add("spec.reachableBy", "reachableBy must be empty when peerIP is empty");
  }
  if (spec.keepOriginalNextHop === true && spec.nextHopMode != null) {
    issues.add(
      "spec.nextHopMode",
      "keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode instead",
    );
  }
  const reachableBy = asString(spec.reachableBy);
  const peer = asString(spec.peerIP);
  if (reachableBy && peer) {
    const via = parseIP(reachableBy);
    const peerAddr = splitIPPort(peer);
    const peerIP = peerAddr && parseIP(peerAddr.ip);
    if (via && peerIP && via.family !== peerIP.family) {
      issues.add("spec.reachableBy", "ReachableBy and PeerIP address family mismatched", reachableBy);
    }
  }
}

const communityValue = /^(\d+):(\d+)(:(\d+))?$/;

function isCommunityValue(text: unknown): boolean {
  if (typeof text !== "string") return false;
  const m = communityValue.exec(text);
  if (!m) return false;
  const limit = m[3] === undefined ? 65535 : 4294967295;
  return text.split(":").every((p) => Number(p) <= limit);
}

const BAD_COMMUNITY = "invalid BGP community value (expected aa:nn or aa:nn:mm)";

function checkFilterRule(rule: PlainObject, path: string, issues: Issues): void {
  if (isSet(rule.cidr) !== isSet(rule.matchOperator)) {
    issues.add(path, "cidr and matchOperator must both be set or both be empty");
  }
  if (rule.prefixLength != null && !isSet(rule.cidr))
    issues.add(`${path}.prefixLength`, "cidr is required when prefixLength is set");
  if (isSet(rule.operations) && rule.action !== "Accept") {
    issues.add(`${path}.operations`, "operations may only be used with action Accept");
  }
  asArray(asObject(rule.communities).values).forEach((v, i) => {
    if (!isCommunityValue(v)) issues.add(`${path}.communities.values[${i}]`, BAD_COMMUNITY, v);
  });
  asArray(rule.operations).forEach((op, i) => {
    if (!isPlainObject(op)) return;
    const set = ["addCommunity", "prependASPath", "setPriority"].filter((k) => op[k] != null);
    if (set.length !== 1) {
      issues.add(
        `${path}.operations[${i}]`,
        "exactly one of addCommunity, prependASPath or setPriority must be set",
      );
    }
    const added = asObject(op.addCommunity).value;
    if (op.addCommunity != null && added !== undefined && !isCommunityValue(added)) {
      issues.add(`${path}.operations[${i}].addCommunity.value`, BAD_COMMUNITY, added);
    }
  });
}

export function checkBGPFilter(spec: PlainObject, issues: Issues): void {
  for (const list of ["exportV4", "importV4", "exportV6", "importV6"]) {
    asArray(spec[list]).forEach((rule, i) => {
      if (isPlainObject(rule)) checkFilterRule(rule, `spec.${list}[${i}]`, issues);
    });
  }
}
