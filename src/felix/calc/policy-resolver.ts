/**
 * For each local endpoint, the ordered tiers and the ordered policies in each tier that apply
 * to it (Felix's PolicyResolver). Match events mark endpoints dirty; only dirty endpoints are
 * recomputed at flush, and nothing is computed before the first in-sync (start of day would
 * otherwise re-sort every endpoint once per policy).
 */

import type { PolicyMatchListener } from "./active-rules.js";
import type { EndpointUpdate } from "./dispatcher.js";
import type { EventSequencer } from "./event-sequencer.js";
import type {
  HostEndpointRemove,
  HostEndpointUpdate,
  PolicyID,
  TierInfo,
  WorkloadEndpointRemove,
  WorkloadEndpointUpdate,
} from "./messages.js";
import type { ModelEndpoint, ModelPolicy, ModelTier } from "./model/types.js";
import { comparePolicies, compareTiers } from "./policy-sorter.js";

type Stage = "normal" | "untracked" | "preDnat" | "forward";

function addToIndex(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

function removeFromIndex(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

/** Fields of a policy that decide where it sorts and which lists it lands in. */
function placement(p: ModelPolicy): string {
  return JSON.stringify([p.id, p.order, p.ingress, p.egress, p.doNotTrack, p.preDNAT, p.applyOnForward]);
}

function stagesOf(p: ModelPolicy): Stage[] {
  if (p.doNotTrack) return ["untracked"];
  if (p.preDNAT) return ["preDnat"];
  return p.applyOnForward ? ["normal", "forward"] : ["normal"];
}

export class PolicyResolver implements PolicyMatchListener {
  readonly #policies = new Map<string, ModelPolicy>();
  readonly #tiers = new Map<string, ModelTier>();
  readonly #policiesByTier = new Map<string, Set<string>>();
  readonly #endpoints = new Map<string, ModelEndpoint>();
  readonly #policiesByEndpoint = new Map<string, Set<string>>();
  readonly #endpointsByPolicy = new Map<string, Set<string>>();
  readonly #dirty = new Set<string>();
  /** Per endpoint sent: the last message, serialised (to send only real changes), and its removal. */
  readonly #sent = new Map<string, { text: string; remove: WorkloadEndpointRemove | HostEndpointRemove }>();
  #inSync = false;

  constructor(private readonly sequencer: EventSequencer) {}

  get localEndpointCount(): number {
    return this.#endpoints.size;
  }

  onPolicy = (update: { key: string; value: ModelPolicy | null }): void => {
    const old = this.#policies.get(update.key);
    if (old) removeFromIndex(this.#policiesByTier, old.id.tier, update.key);
    if (update.value) {
      this.#policies.set(update.key, update.value);
      addToIndex(this.#policiesByTier, update.value.id.tier, update.key);
    } else {
      this.#policies.delete(update.key);
    }
    if (old && update.value && placement(old) === placement(update.value)) return;
    for (const ep of this.#endpointsByPolicy.get(update.key) ?? []) this.#dirty.add(ep);
  };

  onTier = (update: { key: string; value: ModelTier | null }): void => {
    if (update.value) this.#tiers.set(update.key, update.value);
    else this.#tiers.delete(update.key);
    for (const key of this.#policiesByTier.get(update.key) ?? []) {
      for (const ep of this.#endpointsByPolicy.get(key) ?? []) this.#dirty.add(ep);
    }
  };

  onEndpoint = (update: EndpointUpdate): void => {
    if (update.value) this.#endpoints.set(update.key, update.value);
    else this.#endpoints.delete(update.key);
    this.#dirty.add(update.key);
  };

  onPolicyMatch(policyKey: string, endpointKey: string): void {
    addToIndex(this.#policiesByEndpoint, endpointKey, policyKey);
    addToIndex(this.#endpointsByPolicy, policyKey, endpointKey);
    this.#dirty.add(endpointKey);
  }

  onPolicyMatchStopped(policyKey: string, endpointKey: string): void {
    removeFromIndex(this.#policiesByEndpoint, endpointKey, policyKey);
    removeFromIndex(this.#endpointsByPolicy, policyKey, endpointKey);
    this.#dirty.add(endpointKey);
  }

  onInSync(): void {
    this.#inSync = true;
  }

  flush(): void {
    if (!this.#inSync) return;
    for (const key of this.#dirty) this.#flushEndpoint(key);
    this.#dirty.clear();
  }

  #flushEndpoint(key: string): void {
    const ep = this.#endpoints.get(key);
    if (!ep) {
      const sent = this.#sent.get(key);
      if (!sent) return;
      this.#sent.delete(key);
      this.sequencer.onEndpointRemove(key, sent.remove);
      return;
    }
    const tiers = this.#resolveTiers(key);
    const msg = ep.kind === "wep" ? this.#workloadMessage(ep, tiers) : this.#hostMessage(ep, tiers);
    const text = JSON.stringify(msg);
    if (this.#sent.get(key)?.text === text) return;
    const remove =
      msg.type === "WorkloadEndpointUpdate"
        ? ({ type: "WorkloadEndpointRemove", id: msg.id } as const)
        : ({ type: "HostEndpointRemove", id: msg.id } as const);
    this.#sent.set(key, { text, remove });
    this.sequencer.onEndpointUpdate(key, msg);
  }

  #resolveTiers(key: string): Record<Stage, TierInfo[]> {
    const byTier = new Map<string, ModelPolicy[]>();
    for (const pk of this.#policiesByEndpoint.get(key) ?? []) {
      const p = this.#policies.get(pk);
      if (!p) continue;
      const list = byTier.get(p.id.tier);
      if (list) list.push(p);
      else byTier.set(p.id.tier, [p]);
    }
    const out: Record<Stage, TierInfo[]> = { normal: [], untracked: [], preDnat: [], forward: [] };
    const tierNames = [...byTier.keys()].sort((a, b) => compareTiers(a, b, this.#tiers));
    for (const name of tierNames) {
      const policies = byTier.get(name)!.sort(comparePolicies);
      const own = this.#tiers.get(name)?.defaultAction ?? "deny";
      const infos: Record<Stage, TierInfo> = {
        normal: { name, ingressPolicies: [], egressPolicies: [], defaultAction: own },
        forward: { name, ingressPolicies: [], egressPolicies: [], defaultAction: own },
        // Untracked and pre-DNAT stages have no end-of-tier drop.
        untracked: { name, ingressPolicies: [], egressPolicies: [], defaultAction: "pass" },
        preDnat: { name, ingressPolicies: [], egressPolicies: [], defaultAction: "pass" },
      };
      for (const p of policies) {
        const id: PolicyID = { ...p.id };
        for (const stage of stagesOf(p)) {
          if (p.ingress) infos[stage].ingressPolicies.push(id);
          if (p.egress) infos[stage].egressPolicies.push(id);
        }
      }
      for (const stage of Object.keys(infos) as Stage[]) {
        const info = infos[stage];
        if (info.ingressPolicies.length > 0 || info.egressPolicies.length > 0) out[stage].push(info);
      }
    }
    return out;
  }

  #workloadMessage(
    ep: Extract<ModelEndpoint, { kind: "wep" }>,
    tiers: Record<Stage, TierInfo[]>,
  ): WorkloadEndpointUpdate {
    const endpoint: WorkloadEndpointUpdate["endpoint"] = {
      state: "active",
      name: ep.iface,
      profileIds: [...ep.profileIds],
      ipv4Nets: [...ep.ipv4Nets],
      ipv6Nets: [...ep.ipv6Nets],
      tiers: tiers.normal,
      ipv4Nat: ep.ipv4Nat.map((n) => ({ ...n })),
      ipv6Nat: ep.ipv6Nat.map((n) => ({ ...n })),
      allowSpoofedSourcePrefixes: [...ep.allowSpoofedSourcePrefixes],
    };
    if (ep.mac) endpoint.mac = ep.mac;
    if (ep.annotations) endpoint.annotations = { ...ep.annotations };
    if (ep.qosControls) endpoint.qosControls = { ...ep.qosControls };
    return { type: "WorkloadEndpointUpdate", id: { ...ep.id }, endpoint };
  }

  #hostMessage(
    ep: Extract<ModelEndpoint, { kind: "hep" }>,
    tiers: Record<Stage, TierInfo[]>,
  ): HostEndpointUpdate {
    return {
      type: "HostEndpointUpdate",
      id: { endpointId: ep.endpointId },
      endpoint: {
        name: ep.iface,
        profileIds: [...ep.profileIds],
        tiers: tiers.normal,
        untrackedTiers: tiers.untracked,
        preDnatTiers: tiers.preDnat,
        forwardTiers: tiers.forward,
        expectedIpv4Addrs: [...ep.expectedIpv4],
        expectedIpv6Addrs: [...ep.expectedIpv6],
      },
    };
  }
}
