/**
 * Buffers the graph's output between flushes, keeping at most one pending item per object (so
 * memory is bounded by the datastore, not by churn), and flushes in dependency order: config; then IP sets → IP-set deltas → policies → profiles → endpoints; then removals
 * in reverse; then routes (removes, VTEP removes, VTEP adds, route adds); then pools, hosts and
 * encapsulation. A referenced object is thus never delivered after, nor removed before, what
 * refers to it.
 */
import type {
  ActivePolicyRemove,
  ActivePolicyUpdate,
  ActiveProfileRemove,
  ActiveProfileUpdate,
  ConfigUpdate,
  Encapsulation,
  HostEndpointRemove,
  HostEndpointUpdate,
  HostMetadataRemove,
  HostMetadataUpdate,
  IPAMPoolRemove,
  IPAMPoolUpdate,
  IPSetType,
  RouteRemove,
  RouteUpdate,
  ToDataplane,
  VXLANTunnelEndpointRemove,
  VXLANTunnelEndpointUpdate,
  WorkloadEndpointRemove,
  WorkloadEndpointUpdate,
} from "./messages.js";

/**
 * Latest update or removal per key. An update then removal of something never sent cancels
 * out; a removal then update sends just the update (which replaces).
 */
class Pending<U, R> {
  readonly updates = new Map<string, U>();
  readonly removes = new Map<string, R>();
  readonly #sent = new Set<string>();

  update(key: string, msg: U): void {
    this.removes.delete(key);
    this.updates.set(key, msg);
  }

  remove(key: string, msg: R): void {
    this.updates.delete(key);
    if (this.#sent.has(key)) this.removes.set(key, msg);
  }

  drainUpdates(out: ToDataplane[]): void {
    for (const [key, msg] of this.updates) {
      this.#sent.add(key);
      out.push(msg as ToDataplane);
    }
    this.updates.clear();
  }

  drainRemoves(out: ToDataplane[]): void {
    for (const [key, msg] of this.removes) {
      this.#sent.delete(key);
      out.push(msg as ToDataplane);
    }
    this.removes.clear();
  }
}

interface Delta {
  added: Set<string>;
  removed: Set<string>;
}

/** Current members of an active IP set; read when a set is (re)sent whole. */
export type MembersSource = (setId: string) => Iterable<string>;

export class EventSequencer {
  #membersOf: MembersSource = () => [];
  readonly #ipSetsSent = new Set<string>();
  /** Sets to send whole at the next flush, with their type. */
  readonly #ipSetsFull = new Map<string, IPSetType>();
  readonly #ipSetDeltas = new Map<string, Delta>();
  readonly #ipSetRemoves = new Set<string>();

  readonly #policies = new Pending<ActivePolicyUpdate, ActivePolicyRemove>();
  readonly #profiles = new Pending<ActiveProfileUpdate, ActiveProfileRemove>();
  readonly #endpoints = new Pending<
    WorkloadEndpointUpdate | HostEndpointUpdate,
    WorkloadEndpointRemove | HostEndpointRemove
  >();
  readonly #routes = new Pending<RouteUpdate, RouteRemove>();
  readonly #vteps = new Pending<VXLANTunnelEndpointUpdate, VXLANTunnelEndpointRemove>();
  readonly #hosts = new Pending<HostMetadataUpdate, HostMetadataRemove>();
  readonly #pools = new Pending<IPAMPoolUpdate, IPAMPoolRemove>();

  #config: ConfigUpdate | undefined;
  #notReady = false;
  #encapsulation: Encapsulation | undefined;

  setMembersSource(source: MembersSource): void {
    this.#membersOf = source;
  }

  // ---- IP sets ----

  onIPSetAdded(id: string, type: IPSetType): void {
    // Re-adding a set whose removal is pending: send it whole, as its members may have moved on.
    this.#ipSetRemoves.delete(id);
    this.#ipSetDeltas.delete(id);
    this.#ipSetsFull.set(id, type);
  }

  onIPSetRemoved(id: string): void {
    this.#ipSetsFull.delete(id);
    this.#ipSetDeltas.delete(id);
    if (this.#ipSetsSent.has(id)) this.#ipSetRemoves.add(id);
  }

  onIPSetMemberAdded(id: string, member: string): void {
    const delta = this.#deltaFor(id);
    if (!delta) return;
    if (!delta.removed.delete(member)) delta.added.add(member);
  }

  onIPSetMemberRemoved(id: string, member: string): void {
    const delta = this.#deltaFor(id);
    if (!delta) return;
    if (!delta.added.delete(member)) delta.removed.add(member);
  }

  /** The delta to record into, or undefined when the set will be sent whole (or is unknown). */
  #deltaFor(id: string): Delta | undefined {
    if (this.#ipSetsFull.has(id) || !this.#ipSetsSent.has(id) || this.#ipSetRemoves.has(id)) return undefined;
    let delta = this.#ipSetDeltas.get(id);
    if (!delta) {
      delta = { added: new Set(), removed: new Set() };
      this.#ipSetDeltas.set(id, delta);
    }
    return delta;
  }

  // ---- keyed objects ----

  onPolicyUpdate(key: string, msg: ActivePolicyUpdate): void {
    this.#policies.update(key, msg);
  }

  onPolicyRemove(key: string, msg: ActivePolicyRemove): void {
    this.#policies.remove(key, msg);
  }

  onProfileUpdate(msg: ActiveProfileUpdate): void {
    this.#profiles.update(msg.id.name, msg);
  }

  onProfileRemove(msg: ActiveProfileRemove): void {
    this.#profiles.remove(msg.id.name, msg);
  }

  onEndpointUpdate(key: string, msg: WorkloadEndpointUpdate | HostEndpointUpdate): void {
    this.#endpoints.update(key, msg);
  }

  onEndpointRemove(key: string, msg: WorkloadEndpointRemove | HostEndpointRemove): void {
    this.#endpoints.remove(key, msg);
  }

  onRouteUpdate(msg: RouteUpdate): void {
    this.#routes.update(msg.dst, msg);
  }

  onRouteRemove(msg: RouteRemove): void {
    this.#routes.remove(msg.dst, msg);
  }

  onVtepUpdate(msg: VXLANTunnelEndpointUpdate): void {
    this.#vteps.update(msg.node, msg);
  }

  onVtepRemove(msg: VXLANTunnelEndpointRemove): void {
    this.#vteps.remove(msg.node, msg);
  }

  onHostMetadataUpdate(msg: HostMetadataUpdate): void {
    this.#hosts.update(msg.hostname, msg);
  }

  onHostMetadataRemove(msg: HostMetadataRemove): void {
    this.#hosts.remove(msg.hostname, msg);
  }

  onPoolUpdate(msg: IPAMPoolUpdate): void {
    this.#pools.update(msg.id, msg);
  }

  onPoolRemove(msg: IPAMPoolRemove): void {
    this.#pools.remove(msg.id, msg);
  }

  onEncapsulation(msg: Encapsulation): void {
    this.#encapsulation = msg;
  }

  onConfigUpdate(msg: ConfigUpdate): void {
    this.#config = msg;
  }

  onDatastoreNotReady(): void {
    this.#notReady = true;
  }

  // ---- flush ----

  flush(): ToDataplane[] {
    const out: ToDataplane[] = [];
    if (this.#notReady) out.push({ type: "DatastoreNotReady" });
    this.#notReady = false;
    if (this.#config) out.push(this.#config);
    this.#config = undefined;

    for (const [id, setType] of this.#ipSetsFull) {
      this.#ipSetsSent.add(id);
      out.push({ type: "IPSetUpdate", id, setType, members: [...this.#membersOf(id)].sort() });
    }
    this.#ipSetsFull.clear();
    for (const [id, delta] of this.#ipSetDeltas) {
      if (delta.added.size === 0 && delta.removed.size === 0) continue;
      out.push({
        type: "IPSetDeltaUpdate",
        id,
        addedMembers: [...delta.added].sort(),
        removedMembers: [...delta.removed].sort(),
      });
    }
    this.#ipSetDeltas.clear();
    this.#policies.drainUpdates(out);
    this.#profiles.drainUpdates(out);
    this.#endpoints.drainUpdates(out);

    this.#endpoints.drainRemoves(out);
    this.#profiles.drainRemoves(out);
    this.#policies.drainRemoves(out);
    for (const id of this.#ipSetRemoves) {
      this.#ipSetsSent.delete(id);
      out.push({ type: "IPSetRemove", id });
    }
    this.#ipSetRemoves.clear();

    this.#routes.drainRemoves(out);
    this.#vteps.drainRemoves(out);
    this.#vteps.drainUpdates(out);
    this.#routes.drainUpdates(out);

    this.#hosts.drainRemoves(out);
    this.#hosts.drainUpdates(out);
    this.#pools.drainRemoves(out);
    this.#pools.drainUpdates(out);
    if (this.#encapsulation) out.push(this.#encapsulation);
    this.#encapsulation = undefined;
    return out;
  }
}
