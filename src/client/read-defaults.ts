/**
 * Defaults Calico's client fills into objects it reads, so that objects written by older
 * versions (or by hand) look like freshly written ones.
 */
import { applyDefaults, canonicalize, DEFAULT_TIER_ORDER, LABEL_TIER, type Resource } from "../api/index.js";

export const TIERED_POLICY_KINDS: ReadonlySet<string> = new Set([
  "NetworkPolicy",
  "GlobalNetworkPolicy",
  "StagedNetworkPolicy",
  "StagedGlobalNetworkPolicy",
]);

export function policyTier(resource: Resource): string {
  const tier = resource.spec?.tier;
  return typeof tier === "string" && tier !== "" ? tier : "default";
}

/** Defaults applied on every Get and List. */
export function readDefaults(resource: Resource): Resource {
  if (resource.kind === "IPPool") return canonicalize(applyDefaults(resource));
  if (TIERED_POLICY_KINDS.has(resource.kind) && resource.metadata.labels?.[LABEL_TIER] === undefined) {
    return {
      ...resource,
      metadata: {
        ...resource.metadata,
        labels: { ...resource.metadata.labels, [LABEL_TIER]: policyTier(resource) },
      },
    };
  }
  return resource;
}

/** Defaults applied on List only: Calico fills a missing Tier order there but not on Get. */
export function listDefaults(resource: Resource): Resource {
  const withRead = readDefaults(resource);
  if (withRead.kind !== "Tier" || typeof withRead.spec?.order === "number") return withRead;
  return canonicalize({ ...withRead, spec: { ...withRead.spec, order: DEFAULT_TIER_ORDER } });
}
