/**
 * Decides which policies and profiles this host needs (Felix's ActiveRulesCalculator): a policy
 * is active while its selector matches at least one local endpoint (or it is hinted
 * `AssumeNeededOnEveryNode`); a profile while some local endpoint lists it. Matching uses a
 * LabelIndex over local endpoints only, with profiles as label parents. A profile that is
 * listed but missing is replaced by one that denies everything (fail closed).
 */
import { LabelIndex, parseSelector } from "../../selector/index.js";
import type { EndpointUpdate } from "./dispatcher.js";
import type { ModelPolicy, ModelProfile, ModelRule } from "./model/types.js";
import type { ProfileRules, RuleScanner } from "./rule-scanner.js";

export interface PolicyMatchListener {
  onPolicyMatch(policyKey: string, endpointKey: string): void;
  onPolicyMatchStopped(policyKey: string, endpointKey: string): void;
}

const DENY: ModelRule = {
  action: "deny",
  src: { nets: [], notNets: [], selector: "", notSelector: "", ports: [], notPorts: [] },
  dst: { nets: [], notNets: [], selector: "", notSelector: "", ports: [], notPorts: [] },
};

/** Felix's DummyDropRules: what a missing profile means. */
export const DENY_ALL_PROFILE: ProfileRules = Object.freeze({ inbound: [DENY], outbound: [DENY] });

const ASSUME_NEEDED = "AssumeNeededOnEveryNode";

export class ActiveRulesCalculator {
  readonly #policies = new Map<string, ModelPolicy>();
  /** Active policies, with the model they were activated with (needed to remove them). */
  readonly #active = new Map<string, ModelPolicy>();
  readonly #profiles = new Map<string, ModelProfile>();
  readonly #profileRefs = new Map<string, number>();
  readonly #endpointProfiles = new Map<string, readonly string[]>();
  readonly #index: LabelIndex<string, string, string>;
  /** Policies whose match count may have crossed zero during the current operation. */
  readonly #touched = new Set<string>();

  constructor(
    private readonly scanner: RuleScanner,
    private readonly matches: PolicyMatchListener,
  ) {
    this.#index = new LabelIndex(
      (policyKey, endpointKey) => {
        this.#touched.add(policyKey);
        this.matches.onPolicyMatch(policyKey, endpointKey);
      },
      (policyKey, endpointKey) => {
        this.#touched.add(policyKey);
        this.matches.onPolicyMatchStopped(policyKey, endpointKey);
      },
    );
  }

  get activePolicyCount(): number {
    return this.#active.size;
  }

  onPolicy = (update: { key: string; value: ModelPolicy | null }): void => {
    const { key, value } = update;
    if (value) {
      this.#policies.set(key, value);
      this.#index.updateSelector(key, parseSelector(value.selector));
    } else {
      this.#policies.delete(key);
      this.#index.deleteSelector(key);
    }
    this.#touched.add(key);
    this.#syncTouched();
  };

  onProfile = (update: { key: string; value: ModelProfile | null }): void => {
    const { key, value } = update;
    if (value) {
      this.#profiles.set(key, value);
      this.#index.updateParentLabels(key, value.labels);
    } else {
      this.#profiles.delete(key);
      this.#index.deleteParentLabels(key);
    }
    if (this.#profileRefs.has(key)) this.scanner.updateProfile(key, value ?? DENY_ALL_PROFILE);
    this.#syncTouched();
  };

  /** Local endpoints only (fed through the local-endpoint filter). */
  onEndpoint = (update: EndpointUpdate): void => {
    const { key, value } = update;
    const oldProfiles = this.#endpointProfiles.get(key) ?? [];
    const newProfiles = value ? [...new Set(value.profileIds)] : [];
    // New references first, so a profile moving between endpoints never goes inactive.
    for (const p of newProfiles) this.#retainProfile(p);
    if (value) {
      this.#index.updateLabels(key, value.labels, value.profileIds);
      this.#endpointProfiles.set(key, newProfiles);
    } else {
      this.#index.deleteLabels(key);
      this.#endpointProfiles.delete(key);
    }
    for (const p of oldProfiles) this.#releaseProfile(p);
    this.#syncTouched();
  };

  #retainProfile(name: string): void {
    const n = this.#profileRefs.get(name) ?? 0;
    this.#profileRefs.set(name, n + 1);
    if (n === 0) this.scanner.updateProfile(name, this.#profiles.get(name) ?? DENY_ALL_PROFILE);
  }

  #releaseProfile(name: string): void {
    const n = this.#profileRefs.get(name)! - 1;
    if (n > 0) {
      this.#profileRefs.set(name, n);
      return;
    }
    this.#profileRefs.delete(name);
    this.scanner.removeProfile(name);
  }

  /** Activates or deactivates each touched policy once, after the index settled. */
  #syncTouched(): void {
    for (const key of this.#touched) {
      const policy = this.#policies.get(key);
      const wanted =
        policy !== undefined &&
        (policy.performanceHints.includes(ASSUME_NEEDED) || this.#index.itemsMatching(key).size > 0);
      if (wanted) {
        this.#active.set(key, policy);
        this.scanner.updatePolicy(policy);
      } else {
        const old = this.#active.get(key);
        if (!old) continue;
        this.#active.delete(key);
        this.scanner.removePolicy(old);
      }
    }
    this.#touched.clear();
  }
}
