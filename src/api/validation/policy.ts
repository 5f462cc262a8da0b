/** Policy-kind rules: policy specs, staged policies, profiles, tiers and network sets. */
import { convertKubernetesNetworkPolicyLenient } from "../k8s/convert.js";
import { isPlainObject, isZeroValue, type PlainObject, textOf } from "../plain.js";
import { protectedTier } from "../tiers.js";
import { asArray, asObject, isSet } from "./access.js";
import type { Issues } from "./errors.js";
import { checkLabels } from "./meta.js";
import { checkRules, type RuleOwner } from "./rules.js";

function checkTypes(spec: PlainObject, issues: Issues): void {
  const seen = new Set<unknown>();
  for (const t of asArray(spec.types)) {
    if (seen.has(t)) issues.add("spec.types", `'${textOf(t)}' type specified more than once`, spec.types);
    seen.add(t);
  }
}

function checkGlobalSwitches(spec: PlainObject, issues: Issues): void {
  const preDNAT = spec.preDNAT === true;
  const doNotTrack = spec.doNotTrack === true;
  if (preDNAT && doNotTrack) issues.add("spec.preDNAT", "preDNAT and doNotTrack cannot both be true");
  if (preDNAT && isSet(spec.egress)) issues.add("spec.egress", "preDNAT policy cannot have any egress rules");
  if (preDNAT && asArray(spec.types).includes("Egress"))
    issues.add("spec.types", "preDNAT policy cannot have 'Egress' type");
  if ((preDNAT || doNotTrack) && spec.applyOnForward !== true) {
    issues.add("spec.applyOnForward", "applyOnForward must be true if either preDNAT or doNotTrack is true");
  }
}

/** Rules shared by every Calico policy spec (enforced or staged, namespaced or global). */
export function checkPolicySpec(spec: PlainObject, owner: RuleOwner, issues: Issues): void {
  checkTypes(spec, issues);
  checkRules(spec.ingress, "spec.ingress", "ingress", owner, issues);
  checkRules(spec.egress, "spec.egress", "egress", owner, issues);
  if (owner === "global") checkGlobalSwitches(spec, issues);
}

/** With `stagedAction: Delete` only the tier (and the action itself) may be set. */
function stagedDeleteIsEmpty(spec: PlainObject, keep: readonly string[]): boolean {
  return Object.entries(spec).every(([k, v]) => keep.includes(k) || isZeroValue(v));
}

export function checkStagedPolicy(spec: PlainObject, owner: RuleOwner, issues: Issues): void {
  if (spec.stagedAction === "Delete") {
    if (!stagedDeleteIsEmpty(spec, ["stagedAction", "tier"])) {
      issues.add("spec", "Spec fields, except Tier, should all be zero-value if stagedAction is Delete");
    }
    return;
  }
  checkPolicySpec(spec, owner, issues);
}

export function checkStagedKubernetesPolicy(resource: PlainObject, spec: PlainObject, issues: Issues): void {
  if (spec.stagedAction === "Delete") {
    if (!stagedDeleteIsEmpty(spec, ["stagedAction"])) {
      issues.add("spec", "Spec fields should all be zero-value if stagedAction is Delete");
    }
    return;
  }
  // The name only labels the converted copy; a missing one is reported by the metadata checks.
  const meta = asObject(resource.metadata);
  const name = typeof meta.name === "string" && meta.name !== "" ? meta.name : "staged";
  const { policy, dropped } = convertKubernetesNetworkPolicyLenient({ metadata: { name }, spec });
  for (const d of dropped)
    issues.add("spec", `conversion to stagednetworkpolicy failed ${d.field}: ${d.reason}`);
  checkPolicySpec(asObject(policy.spec), "namespaced", issues);
}

export function checkProfile(spec: PlainObject, issues: Issues): void {
  checkRules(spec.ingress, "spec.ingress", "ingress", "profile", issues);
  checkRules(spec.egress, "spec.egress", "egress", "profile", issues);
  checkLabels(spec.labelsToApply, "spec.labelsToApply", issues);
}

/** The protected tiers' order and default action are pinned. */
export function checkTier(name: unknown, spec: PlainObject, issues: Issues): void {
  const tier = typeof name === "string" ? protectedTier(name) : undefined;
  if (!tier) return;
  if (spec.defaultAction !== tier.defaultAction) {
    issues.add(
      "spec.defaultAction",
      `The '${tier.name}' tier must have default action '${tier.defaultAction}'`,
    );
  }
  if (spec.order !== tier.order) issues.add("spec.order", `${tier.name} tier order must be ${tier.order}`);
}

export function checkNetworkSetLabels(metadata: unknown, issues: Issues): void {
  const labels = isPlainObject(metadata) ? metadata.labels : undefined;
  if (isPlainObject(labels) && "projectcalico.org/namespace" in labels) {
    issues.add(
      "metadata.labels",
      "projectcalico.org/namespace is not a valid label name",
      "projectcalico.org/namespace",
    );
  }
}
