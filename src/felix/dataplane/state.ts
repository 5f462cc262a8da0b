import {
  type ActivePolicyUpdate,
  type ActiveProfileUpdate,
  type HostEndpoint,
  type IPAMPool,
  type IPSetType,
  type PolicyID,
  policyIdKey,
  type RouteUpdate,
  type ToDataplane,
  type WorkloadEndpoint,
  workloadEndpointIdKey,
} from "../calc/messages.js";

export interface DesiredIPSet {
  setType: IPSetType;
  members: Set<string>;
}

export interface DesiredPolicy {
  id: PolicyID;
  policy: ActivePolicyUpdate["policy"];
}

/**
 * What the calc graph currently wants, folded from its messages. Cheap to update, never touches
 * the kernel: the policy manager's half of the manager/driver split.
 */
export class DesiredPolicyState {
  readonly ipSets = new Map<string, DesiredIPSet>();
  /** Keyed by `policyIdKey`. */
  readonly policies = new Map<string, DesiredPolicy>();
  readonly profiles = new Map<string, ActiveProfileUpdate["profile"]>();
  /** Keyed by `workloadEndpointIdKey`. */
  readonly workloads = new Map<string, WorkloadEndpoint>();
  /** This host's endpoints, keyed by endpoint id. */
  readonly hostEndpoints = new Map<string, HostEndpoint>();
  /** IP pools by Felix's pool id (CIDR with `-` for `/`): NAT outgoing and the all-pools sets. */
  readonly pools = new Map<string, IPAMPool>();
  /** The route resolver's view of every routable CIDR, by destination. */
  readonly routes = new Map<string, RouteUpdate>();
  /** Some IPv4 pool uses VXLAN: Felix then accepts VXLAN only from the VTEPs' hosts. */
  vxlanEnabled = false;
  /** Each node's VTEP parent address (its node IP), the only sources VXLAN is accepted from. */
  readonly vxlanHosts = new Map<string, string>();

  /**
   * Change counters for the renderers, which re-render a part of the table only when a counter it
   * read has moved. `workloadsVersion`: a local workload endpoint came, changed or went.
   * `catalogueVersion`: something an endpoint chain reads of the policies and profiles changed —
   * one appeared or went, or a policy's selector changed (selectors decide the policy groups); a
   * policy whose rules alone changed leaves it, so that change re-renders only its own chains.
   * `policyKeysVersion`: a policy appeared or went.
   */
  workloadsVersion = 0;
  catalogueVersion = 0;
  policyKeysVersion = 0;

  /** Whether a family's rules police VXLAN: IPv4 only, as calico-ts has no IPv6 VXLAN device. */
  policesVxlan(family: 4 | 6): boolean {
    return family === 4 && this.vxlanEnabled;
  }

  /** Returns whether the message concerned this state. */
  onUpdate(msg: ToDataplane): boolean {
    switch (msg.type) {
      case "IPSetUpdate":
        this.ipSets.set(msg.id, { setType: msg.setType, members: new Set(msg.members) });
        return true;
      case "IPSetDeltaUpdate": {
        const set = this.ipSets.get(msg.id);
        if (!set) throw new Error(`delta for unknown IP set ${msg.id}`);
        for (const m of msg.removedMembers) set.members.delete(m);
        for (const m of msg.addedMembers) set.members.add(m);
        // A new object: renderings are remembered by identity (rules/memo.ts).
        this.ipSets.set(msg.id, { setType: set.setType, members: set.members });
        return true;
      }
      case "IPSetRemove":
        return this.ipSets.delete(msg.id);
      case "ActivePolicyUpdate": {
        const key = policyIdKey(msg.id);
        const old = this.policies.get(key);
        if (!old) this.policyKeysVersion++;
        if (old?.policy.selector !== msg.policy.selector) this.catalogueVersion++;
        this.policies.set(key, { id: msg.id, policy: msg.policy });
        return true;
      }
      case "ActivePolicyRemove":
        if (!this.policies.delete(policyIdKey(msg.id))) return false;
        this.policyKeysVersion++;
        this.catalogueVersion++;
        return true;
      case "ActiveProfileUpdate":
        if (!this.profiles.has(msg.id.name)) this.catalogueVersion++;
        this.profiles.set(msg.id.name, msg.profile);
        return true;
      case "ActiveProfileRemove":
        if (!this.profiles.delete(msg.id.name)) return false;
        this.catalogueVersion++;
        return true;
      case "WorkloadEndpointUpdate":
        this.workloads.set(workloadEndpointIdKey(msg.id), msg.endpoint);
        this.workloadsVersion++;
        return true;
      case "WorkloadEndpointRemove":
        if (!this.workloads.delete(workloadEndpointIdKey(msg.id))) return false;
        this.workloadsVersion++;
        return true;
      case "HostEndpointUpdate":
        this.hostEndpoints.set(msg.id.endpointId, msg.endpoint);
        return true;
      case "HostEndpointRemove":
        return this.hostEndpoints.delete(msg.id.endpointId);
      case "IPAMPoolUpdate":
        this.pools.set(msg.id, msg.pool);
        return true;
      case "IPAMPoolRemove":
        return this.pools.delete(msg.id);
      case "RouteUpdate":
        this.routes.set(msg.dst, msg);
        return true;
      case "RouteRemove":
        return this.routes.delete(msg.dst);
      case "Encapsulation":
        this.vxlanEnabled = msg.vxlanEnabled;
        return true;
      case "VXLANTunnelEndpointUpdate":
        this.vxlanHosts.set(msg.node, msg.parentDeviceIp);
        return true;
      case "VXLANTunnelEndpointRemove":
        return this.vxlanHosts.delete(msg.node);
      default:
        return false;
    }
  }

  /**
   * Local workloads by interface: when two endpoints claim one interface the smaller id wins
   * and the other is ignored until the winner goes.
   */
  workloadsByInterface(): Map<string, WorkloadEndpoint> {
    const out = new Map<string, WorkloadEndpoint>();
    for (const [, ep] of [...this.workloads].sort(([a], [b]) => (a < b ? -1 : 1)))
      if (!out.has(ep.name)) out.set(ep.name, ep);
    return out;
  }
}
