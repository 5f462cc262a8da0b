/** Types shared by several kinds: rules, entity matches, endpoint ports, small enums. */
import type { Port, Protocol } from "../values.js";

/** A Go duration string such as `90s`, `1m30s`, `500ms`. */
export type Duration = string;

/** A DSCP value: a number 0–63 or a name such as `EF`, `AF11`. */
export type DSCP = number | string;

export type EnabledDisabled = "Enabled" | "Disabled";

export type Action = "Allow" | "Deny" | "Log" | "Pass";
export type PolicyType = "Ingress" | "Egress";

export interface ICMPFields {
  type?: number;
  /** Needs `type`. */
  code?: number;
}

export interface ServiceMatch {
  name?: string;
  namespace?: string;
}

export interface ServiceAccountMatch {
  names?: string[];
  selector?: string;
}

/** One side (`source` or `destination`) of a rule; every criterion given must match. */
export interface EntityRule {
  nets?: string[];
  selector?: string;
  namespaceSelector?: string;
  services?: ServiceMatch;
  ports?: Port[];
  notNets?: string[];
  notSelector?: string;
  notPorts?: Port[];
  serviceAccounts?: ServiceAccountMatch;
}

export interface HTTPPath {
  exact?: string;
  prefix?: string;
}

export interface HTTPMatch {
  methods?: string[];
  paths?: HTTPPath[];
}

export interface Rule {
  action: Action;
  ipVersion?: 4 | 6;
  protocol?: Protocol;
  icmp?: ICMPFields;
  notProtocol?: Protocol;
  notICMP?: ICMPFields;
  source?: EntityRule;
  destination?: EntityRule;
  http?: HTTPMatch;
  metadata?: { annotations?: Record<string, string> };
}

export interface SecretKeySelector {
  name?: string;
  key: string;
  optional?: boolean;
}

export interface SecretRef {
  secretKeyRef?: SecretKeySelector;
}

/** A named port on a host endpoint. */
export interface EndpointPort {
  name: string;
  protocol: Protocol;
  port: number;
}

/** Kubernetes `metav1.Condition`, as carried in status blocks. */
export interface Condition {
  type: string;
  status: string;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}
