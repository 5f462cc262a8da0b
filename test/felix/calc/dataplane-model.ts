/**
 * A minimal in-memory dataplane that applies the graph's messages and enforces the sequencing
 * contract as it goes: nothing may refer to an IP set, policy or profile not yet delivered, and
 * nothing may be removed while a delivered object still refers to it.
 */
import {
  type ActivePolicyUpdate,
  type ActiveProfileUpdate,
  type HostEndpointUpdate,
  policyIdKey,
  type Rule,
  type TierInfo,
  type ToDataplane,
  type WorkloadEndpointUpdate,
  workloadEndpointIdKey,
} from "../../../src/felix/calc/index.js";

function ruleSets(r: Rule): string[] {
  return [
    ...r.srcIpSetIds,
    ...r.notSrcIpSetIds,
    ...r.dstIpSetIds,
    ...r.notDstIpSetIds,
    ...r.srcNamedPortIpSetIds,
    ...r.notSrcNamedPortIpSetIds,
    ...r.dstNamedPortIpSetIds,
    ...r.notDstNamedPortIpSetIds,
  ];
}

function tierPolicies(tiers: TierInfo[]): string[] {
  return tiers.flatMap((t) => [...t.ingressPolicies, ...t.egressPolicies].map(policyIdKey));
}

export class DataplaneModel {
  readonly ipSets = new Map<string, { type: string; members: Set<string> }>();
  readonly policies = new Map<string, ActivePolicyUpdate>();
  readonly profiles = new Map<string, ActiveProfileUpdate>();
  readonly workloads = new Map<string, WorkloadEndpointUpdate>();
  readonly hosts = new Map<string, HostEndpointUpdate>();
  readonly other = new Map<string, unknown>();
  inSync = false;
  messages = 0;

  apply(batch: ToDataplane[]): void {
    for (const m of batch) this.#applyOne(m);
  }

  #fail(msg: string): never {
    throw new Error(`dataplane contract violated: ${msg}`);
  }

  #referencedSets(): Set<string> {
    const out = new Set<string>();
    for (const p of this.policies.values()) {
      for (const r of [...p.policy.inboundRules, ...p.policy.outboundRules])
        for (const s of ruleSets(r)) out.add(s);
    }
    for (const p of this.profiles.values()) {
      for (const r of [...p.profile.inboundRules, ...p.profile.outboundRules])
        for (const s of ruleSets(r)) out.add(s);
    }
    return out;
  }

  #endpointRefs(): { policies: Set<string>; profiles: Set<string> } {
    const policies = new Set<string>();
    const profiles = new Set<string>();
    for (const w of this.workloads.values()) {
      for (const p of tierPolicies(w.endpoint.tiers)) policies.add(p);
      for (const p of w.endpoint.profileIds) profiles.add(p);
    }
    for (const h of this.hosts.values()) {
      const e = h.endpoint;
      for (const t of [e.tiers, e.untrackedTiers, e.preDnatTiers, e.forwardTiers]) {
        for (const p of tierPolicies(t)) policies.add(p);
      }
      for (const p of e.profileIds) profiles.add(p);
    }
    return { policies, profiles };
  }

  #checkRules(owner: string, rules: Rule[]): void {
    for (const r of rules) {
      for (const s of ruleSets(r)) if (!this.ipSets.has(s)) this.#fail(`${owner} uses unknown IP set ${s}`);
    }
  }

  #checkEndpoint(name: string, tiers: TierInfo[][], profileIds: string[]): void {
    for (const t of tiers) {
      for (const p of tierPolicies(t))
        if (!this.policies.has(p)) this.#fail(`${name} uses unknown policy ${p}`);
    }
    for (const p of profileIds) if (!this.profiles.has(p)) this.#fail(`${name} uses unknown profile ${p}`);
  }

  #applyOne(m: ToDataplane): void {
    this.messages++;
    switch (m.type) {
      case "IPSetUpdate":
        this.ipSets.set(m.id, { type: m.setType, members: new Set(m.members) });
        return;
      case "IPSetDeltaUpdate": {
        const set = this.ipSets.get(m.id) ?? this.#fail(`delta for unknown IP set ${m.id}`);
        for (const x of m.removedMembers) {
          if (!set.members.delete(x)) this.#fail(`removing absent member ${x} of ${m.id}`);
        }
        for (const x of m.addedMembers) {
          if (set.members.has(x)) this.#fail(`adding present member ${x} to ${m.id}`);
          set.members.add(x);
        }
        return;
      }
      case "IPSetRemove":
        if (!this.ipSets.has(m.id)) this.#fail(`removing unknown IP set ${m.id}`);
        if (this.#referencedSets().has(m.id)) this.#fail(`removing IP set ${m.id} still in use`);
        this.ipSets.delete(m.id);
        return;
      case "ActivePolicyUpdate":
        this.#checkRules(policyIdKey(m.id), [...m.policy.inboundRules, ...m.policy.outboundRules]);
        this.policies.set(policyIdKey(m.id), m);
        return;
      case "ActivePolicyRemove":
        if (!this.policies.has(policyIdKey(m.id))) this.#fail(`removing unknown policy ${policyIdKey(m.id)}`);
        if (this.#endpointRefs().policies.has(policyIdKey(m.id))) this.#fail(`removing used policy`);
        this.policies.delete(policyIdKey(m.id));
        return;
      case "ActiveProfileUpdate":
        this.#checkRules(m.id.name, [...m.profile.inboundRules, ...m.profile.outboundRules]);
        this.profiles.set(m.id.name, m);
        return;
      case "ActiveProfileRemove":
        if (!this.profiles.has(m.id.name)) this.#fail(`removing unknown profile ${m.id.name}`);
        if (this.#endpointRefs().profiles.has(m.id.name)) this.#fail(`removing used profile ${m.id.name}`);
        this.profiles.delete(m.id.name);
        return;
      case "WorkloadEndpointUpdate": {
        const key = workloadEndpointIdKey(m.id);
        this.#checkEndpoint(key, [m.endpoint.tiers], m.endpoint.profileIds);
        this.workloads.set(key, m);
        return;
      }
      case "WorkloadEndpointRemove":
        if (!this.workloads.delete(workloadEndpointIdKey(m.id))) this.#fail("removing unknown workload");
        return;
      case "HostEndpointUpdate": {
        const e = m.endpoint;
        this.#checkEndpoint(
          m.id.endpointId,
          [e.tiers, e.untrackedTiers, e.preDnatTiers, e.forwardTiers],
          e.profileIds,
        );
        this.hosts.set(m.id.endpointId, m);
        return;
      }
      case "HostEndpointRemove":
        if (!this.hosts.delete(m.id.endpointId)) this.#fail("removing unknown host endpoint");
        return;
      case "RouteUpdate":
        this.other.set(`route:${m.dst}`, m);
        return;
      case "RouteRemove":
        if (!this.other.delete(`route:${m.dst}`)) this.#fail(`removing unknown route ${m.dst}`);
        return;
      case "IPAMPoolUpdate":
        this.other.set(`pool:${m.id}`, m);
        return;
      case "IPAMPoolRemove":
        this.other.delete(`pool:${m.id}`);
        return;
      case "HostMetadataUpdate":
        this.other.set(`host:${m.hostname}`, m);
        return;
      case "HostMetadataRemove":
        this.other.delete(`host:${m.hostname}`);
        return;
      case "VXLANTunnelEndpointUpdate":
        this.other.set(`vtep:${m.node}`, m);
        return;
      case "VXLANTunnelEndpointRemove":
        this.other.delete(`vtep:${m.node}`);
        return;
      case "Encapsulation":
        this.other.set("encap", m);
        return;
      case "ConfigUpdate":
        this.other.set("config", m);
        return;
      case "DatastoreNotReady":
        this.other.set("notReady", true);
        return;
      case "InSync":
        if (this.inSync) this.#fail("second InSync");
        this.inSync = true;
        return;
    }
  }

  /** Canonical state, for comparing two dataplanes. */
  snapshot(): unknown {
    const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return {
      ipSets: sorted(this.ipSets).map(([k, v]) => [k, v.type, [...v.members].sort()]),
      policies: sorted(this.policies),
      profiles: sorted(this.profiles),
      workloads: sorted(this.workloads),
      hosts: sorted(this.hosts),
      other: sorted(this.other),
    };
  }
}
