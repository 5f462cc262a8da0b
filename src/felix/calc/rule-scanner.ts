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

/** One owner's converted rules: the message, the sets it uses, and the message serialised. */
interface Conversion<M> {
  msg: M;
  sets: ReadonlyMap<string, IPSetSpec>;
  text: string;
}

export class RuleScanner {
  /** Owner (policy key or `profile:<name>`) → IP sets its rules use (a conversion's, shared). */
  readonly #setsByOwner = new Map<string, ReadonlyMap<string, IPSetSpec>>();
  /** IP-set ID → number of owners using it. */
  readonly #owners = new Map<string, number>();
  /** Last input per owner, to skip re-scanning an unchanged object. */
  readonly #lastInput = new Map<string, object>();
  /** Last message per owner, serialised: an input change need not change the rules (e.g. order). */
  readonly #lastOutput = new Map<string, string>();
  /**
   * Conversions by input object, then owner. A policy that goes inactive and comes back (a local
   * pod's labels flapping) is the same model object, so its rules are not converted, hashed and
   * serialised again; the entry goes when the datastore replaces or deletes the object.
   */
  readonly #conversions = new WeakMap<object, Map<string, Conversion<object>>>();

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
    const conv = this.#convert(
      policy,
      key,
      (sets): ActivePolicyUpdate => ({
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
      }),
    );
    this.#retainSets(key, conv.sets);
    if (this.#changed(key, conv.text)) this.listener.onPolicyUpdate(key, conv.msg);
    this.#releaseStale(key, conv.sets);
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
    const conv = this.#convert(
      rules,
      key,
      (sets): ActiveProfileUpdate => ({
        type: "ActiveProfileUpdate",
        id: { name },
        profile: {
          inboundRules: convertRules(rules.inbound, `prof-in-${name}`, sets),
          outboundRules: convertRules(rules.outbound, `prof-out-${name}`, sets),
        },
      }),
    );
    this.#retainSets(key, conv.sets);
    if (this.#changed(key, conv.text)) this.listener.onProfileUpdate(conv.msg);
    this.#releaseStale(key, conv.sets);
  }

  removeProfile(name: string): void {
    const key = `profile:${name}`;
    if (!this.#lastInput.delete(key)) return;
    this.#lastOutput.delete(key);
    this.listener.onProfileRemove({ type: "ActiveProfileRemove", id: { name } });
    this.#releaseStale(key, new Map());
  }

  /** The owner's conversion of `input`, built once per input object and owner. */
  #convert<M extends object>(
    input: object,
    owner: string,
    build: (sets: Map<string, IPSetSpec>) => M,
  ): Conversion<M> {
    let byOwner = this.#conversions.get(input);
    if (!byOwner) {
      byOwner = new Map();
      this.#conversions.set(input, byOwner);
    }
    let conv = byOwner.get(owner) as Conversion<M> | undefined;
    if (!conv) {
      const sets = new Map<string, IPSetSpec>();
      const msg = build(sets);
      conv = { msg, sets, text: JSON.stringify(msg) };
      byOwner.set(owner, conv);
    }
    return conv;
  }

  #changed(owner: string, text: string): boolean {
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
      for (const id of old.keys()) {
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
    if (sets.size > 0) this.#setsByOwner.set(owner, sets);
    else this.#setsByOwner.delete(owner);
  }
}
