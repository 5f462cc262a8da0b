/**
 * What the renderers ask of the desired state about the chains an endpoint chain jumps to, and a
 * cheap summary of it for the endpoint-chain memo.
 */
import { type PolicyID, policyIdKey, type WorkloadEndpoint } from "../../calc/messages.js";
import type { DesiredPolicyState } from "../state.js";
import type { RenderConfig } from "./config.js";
import { GenerationCache, renderMemo } from "./memo.js";
import type { ChainCatalogue } from "./plan.js";

export interface RenderCatalogue extends ChainCatalogue {
  /**
   * "-" for a policy that is not programmed, else a short token standing for its selector (the
   * selector decides the policy groups): the memo signature stays small however long selectors are.
   */
  policyToken(id: PolicyID): string;
  /** Ends the render: selector tokens no endpoint asked for are forgotten. */
  done(): void;
}

/**
 * A policy ID's key, built once per ID object: endpoints keep their ID objects until they change,
 * and building the key string anew for every policy of every endpoint on each render was most of
 * the cost of a render that found every endpoint chain unchanged.
 */
const keys = new WeakMap<PolicyID, string>();
export function keyOf(id: PolicyID): string {
  let key = keys.get(id);
  if (key === undefined) {
    key = policyIdKey(id);
    keys.set(id, key);
  }
  return key;
}

/**
 * Tokens are never reused, so a token always means the same selector. A renderer passes one
 * scope for both families: endpoint chains do not depend on the family and are memoised without
 * it, so the IPv4 and IPv6 renders must give a selector the same token — with a scope per family
 * every render saw the other family's signatures and re-planned every endpoint chain.
 */
let lastToken = 0;
const tokens = new GenerationCache<string>();

export function renderCatalogue(
  state: DesiredPolicyState,
  cfg: RenderConfig,
  scope: string,
): RenderCatalogue {
  const ids = tokens.begin(cfg, scope);
  return {
    hasPolicy: (id) => state.policies.has(keyOf(id)),
    hasProfile: (name) => state.profiles.has(name),
    selectorOf: (id) => state.policies.get(keyOf(id))?.policy.selector,
    policyToken(id) {
      const entry = state.policies.get(keyOf(id));
      return entry ? ids.get(entry.policy.selector, () => `${++lastToken}`) : "-";
    },
    done: () => ids.done(),
  };
}

/** Policy keys in order, sorted again only when a policy appears or goes. */
export function sortedPolicyKeys(state: DesiredPolicyState, cfg: RenderConfig): string[] {
  return renderMemo.get(cfg, state, "policy keys", `${state.policyKeysVersion}`, () =>
    [...state.policies.keys()].sort(),
  );
}

/** Adds the keys of the policies and the names of the profiles an endpoint refers to. */
export function addEndpointRefs(
  ep: Pick<WorkloadEndpoint, "tiers" | "profileIds">,
  into: { policies: Set<string>; profiles: Set<string> },
): void {
  for (const t of ep.tiers)
    for (const id of [...t.ingressPolicies, ...t.egressPolicies]) into.policies.add(keyOf(id));
  for (const p of ep.profileIds) into.profiles.add(p);
}
