/**
 * Turns active policies and profiles into dataplane rules and reference-counts the IP sets
 * those rules use across all of them: a set becomes active with its first user and inactive
 * with its last (Felix's RuleScanner).
 */
import type { IPSetIndex, IPSetSpec } from "./ipset-index.js";
import { type ActivePolicyUpdate, type ActiveProfileUpdate, policyIdKey } from "./messages.js";
import type { ModelPolicy, ModelRule } from "./model/types.js";
import { convertRules } from "./rule-convert.js";

export interface RuleScannerListener {
  onPolicyUpdate(key: string, msg: ActivePolicyUpdate): void;
  onPolicyRemove(key: string, msg: { type: "ActivePolicyRemove"; id: ActivePolicyUpdate["id"] }): void;
  onProfileUpdate(msg: ActiveProfileUpdate): void;
  onProfileRemove(msg: { type: "ActiveProfileRemove"; id: { name: string } }): void;
}

export interface ProfileRules {
  inbound: readonly ModelRule[];
  outbound: readonly ModelRule[];
}

export class RuleScanner {
  /** Owner (policy key or `profile:<name>`) → IP-set IDs its rules use. */
  readonly #setsByOwner = new Map<string, ReadonlySet<string>>();
  /** IP-set ID → number of owners using it. */
  readonly #owners = new Map<string, number>();
  /** Last input per owner, to skip re-scanning an unchanged object. */
  readonly #lastInput = new Map<string, object>();
  /** Last message per owner, serialised: an input change need not change the rules (e.g. order). */
  readonly #lastOutput = new Map<string, string>();

  constructor(
    private readonly ipSets: IPSetIndex,
    private readonly listener: RuleScannerListener,
  ) {}

  get activeIPSetCount(): number {
    return this.#owners.size;
  }

  updatePolicy(policy: ModelPolicy): void {
    const key = policyIdKey(policy.id);
    if (this.#lastInput.get(key) === policy) return;
    this.#lastInput.set(key, policy);
    const sets = new Map<string, IPSetSpec>();
    const msg: ActivePolicyUpdate = {
      type: "ActivePolicyUpdate",
      id: { ...policy.id },
      policy: {
        namespace: policy.id.namespace,
        inboundRules: convertRules(policy.inbound, `pol-in-${key}`, sets),
        outboundRules: convertRules(policy.outbound, `pol-out-${key}`, sets),
        untracked: policy.doNotTrack,
        preDnat: policy.preDNAT,
        applyOnForward: policy.applyOnForward,
        selector: policy.selector,
        performanceHints: [...policy.performanceHints],
      },
    };
    this.#retainSets(key, sets);
    if (this.#changed(key, msg)) this.listener.onPolicyUpdate(key, msg);
    this.#releaseStale(key, sets);
  }

  removePolicy(policy: ModelPolicy): void {
    const key = policyIdKey(policy.id);
    if (!this.#lastInput.delete(key)) return;
    this.#lastOutput.delete(key);
    this.listener.onPolicyRemove(key, { type: "ActivePolicyRemove", id: { ...policy.id } });
    this.#releaseStale(key, new Map());
  }

  updateProfile(name: string, rules: ProfileRules): void {
    const key = `profile:${name}`;
    if (this.#lastInput.get(key) === rules) return;
    this.#lastInput.set(key, rules);
    const sets = new Map<string, IPSetSpec>();
    const msg: ActiveProfileUpdate = {
      type: "ActiveProfileUpdate",
      id: { name },
      profile: {
        inboundRules: convertRules(rules.inbound, `prof-in-${name}`, sets),
        outboundRules: convertRules(rules.outbound, `prof-out-${name}`, sets),
      },
    };
    this.#retainSets(key, sets);
    if (this.#changed(key, msg)) this.listener.onProfileUpdate(msg);
    this.#releaseStale(key, sets);
  }

  removeProfile(name: string): void {
    const key = `profile:${name}`;
    if (!this.#lastInput.delete(key)) return;
    this.#lastOutput.delete(key);
    this.listener.onProfileRemove({ type: "ActiveProfileRemove", id: { name } });
    this.#releaseStale(key, new Map());
  }

  #changed(owner: string, msg: object): boolean {
    const text = JSON.stringify(msg);
    if (this.#lastOutput.get(owner) === text) return false;
    this.#lastOutput.set(owner, text);
    return true;
  }

  /** Takes references on the owner's new sets; activating any that had no user. */
  #retainSets(owner: string, sets: ReadonlyMap<string, IPSetSpec>): void {
    const old = this.#setsByOwner.get(owner);
    for (const [id, spec] of sets) {
      if (old?.has(id)) continue;
      const n = this.#owners.get(id) ?? 0;
      this.#owners.set(id, n + 1);
      if (n === 0) this.ipSets.activate(spec);
    }
  }

  /** Drops references the owner no longer needs; deactivating sets left with no user. */
  #releaseStale(owner: string, sets: ReadonlyMap<string, IPSetSpec>): void {
    const old = this.#setsByOwner.get(owner);
    if (old) {
      for (const id of old) {
        if (sets.has(id)) continue;
        const n = this.#owners.get(id)! - 1;
        if (n > 0) {
          this.#owners.set(id, n);
        } else {
          this.#owners.delete(id);
          this.ipSets.deactivate(id);
        }
      }
    }
    if (sets.size > 0) this.#setsByOwner.set(owner, new Set(sets.keys()));
    else this.#setsByOwner.delete(owner);
  }
}
