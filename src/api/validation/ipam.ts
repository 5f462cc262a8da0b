/** IPPool rules (client checks and the CRD's CEL rules). */
import { cidrsOverlap, isStrictlyMasked, parseCIDR } from "../../lib/net.js";
import { type PlainObject, textOf } from "../plain.js";
import { ALLOWED_USES } from "../schema/ipam.js";
import { asArray, asString, isSet } from "./access.js";
import type { Issues } from "./errors.js";

const LINK_LOCAL_V4 = parseCIDR("169.254.0.0/16")!;
const LINK_LOCAL_V6 = parseCIDR("fe80::/10")!;

const encapOn = (mode: unknown): boolean => typeof mode === "string" && mode !== "" && mode !== "Never";

function checkUses(spec: PlainObject, issues: Issues): void {
  const uses = asArray(spec.allowedUses);
  for (const use of uses) {
    if (!(ALLOWED_USES as readonly unknown[]).includes(use))
      issues.add("spec.allowedUses", `unknown use: ${textOf(use)}`, use);
  }
  if (uses.includes("LoadBalancer")) {
    if (encapOn(spec.ipipMode) || encapOn(spec.vxlanMode)) {
      issues.add("spec.allowedUses", "LoadBalancer IP pool cannot have IPIP or VXLAN enabled");
    }
    if (uses.includes("Workload") || uses.includes("Tunnel")) {
      issues.add("spec.allowedUses", "LoadBalancer cannot be combined with Workload or Tunnel allowed uses");
    }
    if (spec.disableBGPExport === true) {
      issues.add("spec.disableBGPExport", "LoadBalancer IP pools cannot disable BGP export");
    }
    const nodeSelector = spec.nodeSelector ?? "all()";
    if (nodeSelector !== "all()") {
      issues.add(
        "spec.nodeSelector",
        "IP Pool with AllowedUse LoadBalancer must have nodeSelector set to all()",
        nodeSelector,
      );
    }
  }
  if (uses.includes("Tunnel") && isSet(spec.namespaceSelector)) {
    issues.add("spec.namespaceSelector", "IP Pool with AllowedUse Tunnel cannot have namespaceSelector");
  }
}

export function checkIPPool(spec: PlainObject, issues: Issues): void {
  if (encapOn(spec.ipipMode) && encapOn(spec.vxlanMode)) {
    issues.add("spec.vxlanMode", "ipipMode and vxlanMode cannot both be enabled");
  }
  checkUses(spec, issues);
  const text = asString(spec.cidr);
  if (!text) {
    issues.add("spec.cidr", "IPPool CIDR must be specified");
    return;
  }
  const cidr = parseCIDR(text);
  if (!cidr) {
    issues.add("spec.cidr", "IPPool CIDR must be a valid subnet", text);
    return;
  }
  if (!isStrictlyMasked(cidr)) issues.add("spec.cidr", "IPPool CIDR is not strictly masked", text);
  const v4 = cidr.family === 4;
  if (cidrsOverlap(cidr, v4 ? LINK_LOCAL_V4 : LINK_LOCAL_V6)) {
    issues.add(
      "spec.cidr",
      v4
        ? "IPPool CIDR overlaps with IPv4 link local range 169.254.0.0/16"
        : "IPPool CIDR overlaps with IPv6 link local range fe80::/10",
      text,
    );
  }
  if (!v4 && encapOn(spec.ipipMode))
    issues.add("spec.ipipMode", "IPIP is not supported on IPv6 pools", spec.ipipMode);
  const blockSize = typeof spec.blockSize === "number" && spec.blockSize !== 0 ? spec.blockSize : undefined;
  if (
    blockSize !== undefined &&
    (v4 ? blockSize < 20 || blockSize > 32 : blockSize < 116 || blockSize > 128)
  ) {
    issues.add(
      "spec.blockSize",
      "blockSize must be between 20 and 32 for IPv4 pools, and between 116 and 128 for IPv6 pools",
      blockSize,
    );
  }
  if (spec.disabled !== true && cidr.prefix > (blockSize ?? (v4 ? 26 : 122))) {
    issues.add(
      "spec.cidr",
      "IP pool size is too small for use with Calico IPAM. It must be equal to or greater than the block size.",
      text,
    );
  }
}
