/** Policy-side kinds: policies (enforced and staged), profiles, tiers and network sets. */
import { conditions, GLOBAL_ONLY_IN_NAMESPACE_SELECTOR, POLICY_TYPES, rules, selector } from "./common.js";
import {
  always,
  bool,
  enumOf,
  type FieldSpec,
  float,
  int32,
  intOrString,
  list,
  map,
  obj,
  opt,
  ptr,
  str,
} from "./dsl.js";

export const STAGED_ACTIONS = ["Set", "Delete", "Learn", "Ignore"] as const;
export const PERFORMANCE_HINTS = ["AssumeNeededOnEveryNode"] as const;

const types = list(enumOf(POLICY_TYPES), { minItems: 1, maxItems: 2 });
const performanceHints = list(enumOf(PERFORMANCE_HINTS), { unique: true });
const policySelector = selector(GLOBAL_ONLY_IN_NAMESPACE_SELECTOR);

const namespacedPolicyFields: FieldSpec[] = [
  opt("tier", str({ format: "name" })),
  ptr("order", float),
  opt("ingress", rules),
  opt("egress", rules),
  opt("selector", policySelector),
  opt("types", types),
  opt("serviceAccountSelector", policySelector),
  opt("performanceHints", performanceHints),
];

const globalPolicyFields: FieldSpec[] = [
  opt("tier", str({ format: "name" })),
  ptr("order", float),
  opt("ingress", rules),
  opt("egress", rules),
  opt("selector", policySelector),
  opt("types", types),
  opt("doNotTrack", bool),
  opt("preDNAT", bool),
  opt("applyOnForward", bool),
  opt("serviceAccountSelector", policySelector),
  opt("namespaceSelector", policySelector),
  opt("performanceHints", performanceHints),
];

const stagedAction = opt("stagedAction", enumOf(STAGED_ACTIONS));

export const networkPolicySpec = obj(namespacedPolicyFields);
export const globalNetworkPolicySpec = obj(globalPolicyFields);
export const stagedNetworkPolicySpec = obj([stagedAction, ...namespacedPolicyFields]);
export const stagedGlobalNetworkPolicySpec = obj([stagedAction, ...globalPolicyFields]);

const labelSelector = obj([
  opt("matchLabels", map()),
  opt(
    "matchExpressions",
    list(
      obj([
        always("key", str()),
        always("operator", enumOf(["In", "NotIn", "Exists", "DoesNotExist"])),
        opt("values", list(str())),
      ]),
    ),
  ),
]);

const k8sPort = obj([
  ptr("protocol", enumOf(["TCP", "UDP", "SCTP"])),
  ptr("port", intOrString),
  ptr("endPort", int32),
]);

const k8sPeer = obj([
  ptr("podSelector", labelSelector),
  ptr("namespaceSelector", labelSelector),
  ptr("ipBlock", obj([always("cidr", str()), opt("except", list(str()))])),
]);

/** A Kubernetes `networking.k8s.io/v1` NetworkPolicy spec. */
export const kubernetesNetworkPolicySpecFields: FieldSpec[] = [
  always("podSelector", labelSelector),
  opt("ingress", list(obj([opt("ports", list(k8sPort)), opt("from", list(k8sPeer))]))),
  opt("egress", list(obj([opt("ports", list(k8sPort)), opt("to", list(k8sPeer))]))),
  opt("policyTypes", list(enumOf(POLICY_TYPES), { minItems: 1, maxItems: 2 })),
];

export const stagedKubernetesNetworkPolicySpec = obj([stagedAction, ...kubernetesNetworkPolicySpecFields]);

export const profileSpec = obj([opt("ingress", rules), opt("egress", rules), opt("labelsToApply", map())]);

export const tierSpec = obj([ptr("order", float), ptr("defaultAction", enumOf(["Pass", "Deny"]))]);
export const tierStatus = obj([opt("conditions", conditions)]);

export const networkSetSpec = obj([opt("nets", list(str({ format: "cidr" })))]);
