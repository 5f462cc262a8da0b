/**
 * Computes the members of every active IP set over every endpoint and network set in the
 * cluster (Felix's SelectorAndNamedPortIndex). Matching is the selector package's LabelIndex;
 * this layer adds what a set member is — addresses for selector sets, address × named port for
 * named-port sets — and reference-counts members, so an address shared by two contributors
 * leaves the set only when the last of them goes.
 *
 * A set whose last rule goes away is kept warm (still indexed, members still counted, nothing
 * emitted) up to a bound, least recently deactivated first out: a policy that flaps between
 * active and inactive as a local pod's labels change would otherwise re-scan the cluster's
 * endpoints for each of its sets on every flap.
 */
import { LabelIndex, type Selector } from "../../selector/index.js";
import type { IPSetType } from "./messages.js";
import type { ModelEndpointPort } from "./model/types.js";

export type NamedPortProtocol = "tcp" | "udp" | "sctp" | "any";

export interface IPSetSpec {
  id: string;
  selector: Selector;
  /** Present for named-port (`ip,port`) sets. */
  namedPort?: { name: string; protocol: NamedPortProtocol };
}

/** What one endpoint or network set can contribute to sets. */
export interface Contributor {
  /** Canonical CIDRs: /32 or /128 for endpoints, any prefix for network sets. */
  nets: readonly string[];
  ports: readonly ModelEndpointPort[];
  labels: Readonly<Record<string, string>>;
  parents: readonly string[];
}

export interface IPSetIndexListener {
  onIPSetAdded(id: string, type: IPSetType): void;
  onIPSetRemoved(id: string): void;
  onIPSetMemberAdded(id: string, member: string): void;
  onIPSetMemberRemoved(id: string, member: string): void;
}

interface ActiveSet {
  spec: IPSetSpec;
  /** member → number of contributors supplying it. */
  members: Map<string, number>;
}

const SPLIT_DEFAULT: Readonly<Record<string, readonly string[]>> = {
  // A /0 cannot be a hash:net member; two halves cover the same space.
  "0.0.0.0/0": ["0.0.0.0/1", "128.0.0.0/1"],
  "::/0": ["::/1", "8000::/1"],
};

function address(cidr: string): string {
  const slash = cidr.indexOf("/");
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

function setTypeOf(spec: IPSetSpec): IPSetType {
  return spec.namedPort ? "ip,port" : "net";
}

/** The members `c` gives to `spec`. */
export function contribution(spec: IPSetSpec, c: Pick<Contributor, "nets" | "ports">): string[] {
  const np = spec.namedPort;
  if (!np) return c.nets.flatMap((n) => SPLIT_DEFAULT[n] ?? [n]);
  const out: string[] = [];
  for (const p of c.ports) {
    if (p.name !== np.name || (np.protocol !== "any" && p.protocol !== np.protocol)) continue;
    for (const n of c.nets) out.push(`${address(n)},${p.protocol}:${p.port}`);
  }
  return out;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function samePorts(a: readonly ModelEndpointPort[], b: readonly ModelEndpointPort[]): boolean {
  return (
    a.length === b.length &&
    a.every((p, i) => p.name === b[i]!.name && p.protocol === b[i]!.protocol && p.port === b[i]!.port)
  );
}

/** How many inactive sets stay warm by default: each costs its members plus re-tests on relabel. */
export const DEFAULT_WARM_IP_SETS = 1024;

export class IPSetIndex {
  readonly #sets = new Map<string, ActiveSet>();
  /** Inactive but still maintained sets, oldest deactivation first. */
  readonly #warm = new Map<string, ActiveSet>();
  readonly #contributors = new Map<string, Pick<Contributor, "nets" | "ports">>();
  readonly #labels: LabelIndex<string, string, string>;

  constructor(
    private readonly listener: IPSetIndexListener,
    private readonly warmLimit = DEFAULT_WARM_IP_SETS,
  ) {
    this.#labels = new LabelIndex(
      (setId, itemId) => this.#apply(setId, itemId, +1),
      (setId, itemId) => this.#apply(setId, itemId, -1),
    );
  }

  // ---- sets (from the rule scanner) ----

  activate(spec: IPSetSpec): void {
    // A set's ID is derived from its selector (and named port), so a warm set of the same ID
    // already holds exactly the members a fresh scan would find.
    const warm = this.#warm.get(spec.id);
    if (warm) {
      this.#warm.delete(spec.id);
      this.#sets.set(spec.id, warm);
      this.listener.onIPSetAdded(spec.id, setTypeOf(spec));
      return;
    }
    this.#sets.set(spec.id, { spec, members: new Map() });
    this.listener.onIPSetAdded(spec.id, setTypeOf(spec));
    this.#labels.updateSelector(spec.id, spec.selector);
  }

  deactivate(id: string): void {
    const set = this.#sets.get(id);
    if (!set) return;
    this.#sets.delete(id);
    this.listener.onIPSetRemoved(id);
    if (this.warmLimit <= 0) {
      this.#labels.deleteSelector(id);
      return;
    }
    this.#warm.set(id, set);
    if (this.#warm.size > this.warmLimit) {
      const oldest = this.#warm.keys().next().value!;
      // Forget the set first so the match-stopped callbacks emit nothing for it.
      this.#warm.delete(oldest);
      this.#labels.deleteSelector(oldest);
    }
  }

  /** Inactive sets still maintained (for tests and stats). */
  get warmCount(): number {
    return this.#warm.size;
  }

  members(id: string): Iterable<string> {
    return this.#sets.get(id)?.members.keys() ?? [];
  }

  // ---- contributors ----

  updateContributor(key: string, c: Contributor): void {
    const old = this.#contributors.get(key);
    const data = { nets: c.nets, ports: c.ports };
    if (old && (!sameStrings(old.nets, c.nets) || !samePorts(old.ports, c.ports))) {
      // Same labels or not, every set the contributor is in sees its members replaced.
      const matched = this.#labels.selectorsMatching(key);
      for (const setId of matched) this.#apply(setId, key, -1);
      this.#contributors.set(key, data);
      for (const setId of matched) this.#apply(setId, key, +1);
    } else {
      this.#contributors.set(key, data);
    }
    this.#labels.updateLabels(key, c.labels, c.parents);
  }

  deleteContributor(key: string): void {
    if (!this.#contributors.has(key)) return;
    this.#labels.deleteLabels(key);
    this.#contributors.delete(key);
  }

  updateParentLabels(parent: string, labels: Readonly<Record<string, string>>): void {
    this.#labels.updateParentLabels(parent, labels);
  }

  deleteParentLabels(parent: string): void {
    this.#labels.deleteParentLabels(parent);
  }

  #apply(setId: string, itemId: string, delta: 1 | -1): void {
    let set = this.#sets.get(setId);
    const active = set !== undefined;
    set ??= this.#warm.get(setId);
    const c = this.#contributors.get(itemId);
    if (!set || !c) return;
    for (const member of contribution(set.spec, c)) {
      const n = (set.members.get(member) ?? 0) + delta;
      if (n === 0) {
        set.members.delete(member);
        if (active) this.listener.onIPSetMemberRemoved(setId, member);
      } else {
        set.members.set(member, n);
        if (active && n === 1 && delta === 1) this.listener.onIPSetMemberAdded(setId, member);
      }
    }
  }
}
