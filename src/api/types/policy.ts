/** Policy-side kinds: policies, staged policies, profiles, tiers, network sets. */
import type { Resource } from "../meta.js";
import type { Action, Condition, PolicyType, Rule } from "./common.js";

export type StagedAction = "Set" | "Delete" | "Learn" | "Ignore";
export type PerformanceHint = "AssumeNeededOnEveryNode";

export interface NetworkPolicySpec {
  /** `default` when defaulted. */
  tier?: string;
  order?: number;
  ingress?: Rule[];
  egress?: Rule[];
  selector?: string;
  types?: PolicyType[];
  serviceAccountSelector?: string;
  performanceHints?: PerformanceHint[];
}

export interface GlobalNetworkPolicySpec extends NetworkPolicySpec {
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
  namespaceSelector?: string;
}

export type NetworkPolicy = Resource<NetworkPolicySpec>;
export type GlobalNetworkPolicy = Resource<GlobalNetworkPolicySpec>;

export interface StagedNetworkPolicySpec extends NetworkPolicySpec {
  stagedAction?: StagedAction;
}

export interface StagedGlobalNetworkPolicySpec extends GlobalNetworkPolicySpec {
  stagedAction?: StagedAction;
}

export type StagedNetworkPolicy = Resource<StagedNetworkPolicySpec>;
export type StagedGlobalNetworkPolicy = Resource<StagedGlobalNetworkPolicySpec>;

/** Kubernetes `metav1.LabelSelector`. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}

export interface KubernetesNetworkPolicyPort {
  protocol?: "TCP" | "UDP" | "SCTP";
  port?: number | string;
  endPort?: number;
}

export interface KubernetesNetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

/** Kubernetes `networking.k8s.io/v1` NetworkPolicy spec. */
export interface KubernetesNetworkPolicySpec {
  podSelector?: LabelSelector;
  ingress?: { ports?: KubernetesNetworkPolicyPort[]; from?: KubernetesNetworkPolicyPeer[] }[];
  egress?: { ports?: KubernetesNetworkPolicyPort[]; to?: KubernetesNetworkPolicyPeer[] }[];
  policyTypes?: PolicyType[];
}

/** A Kubernetes NetworkPolicy object as read from the Kubernetes API. */
export interface KubernetesNetworkPolicy {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  spec?: KubernetesNetworkPolicySpec;
}

export interface StagedKubernetesNetworkPolicySpec extends KubernetesNetworkPolicySpec {
  stagedAction?: StagedAction;
}

export type StagedKubernetesNetworkPolicy = Resource<StagedKubernetesNetworkPolicySpec>;

export interface ProfileSpec {
  ingress?: Rule[];
  egress?: Rule[];
  labelsToApply?: Record<string, string>;
}

export type Profile = Resource<ProfileSpec>;

export interface TierSpec {
  /** 1,000,000 when defaulted. */
  order?: number;
  defaultAction?: Extract<Action, "Deny" | "Pass">;
}

export interface TierStatus {
  conditions?: Condition[];
}

export type Tier = Resource<TierSpec, TierStatus>;

export interface NetworkSetSpec {
  nets?: string[];
}

export type NetworkSet = Resource<NetworkSetSpec>;
export type GlobalNetworkSet = Resource<NetworkSetSpec>;
