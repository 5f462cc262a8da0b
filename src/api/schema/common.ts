/** Shapes shared by several kinds: object metadata, policy rules, endpoint ports. */
import {
  always,
  any,
  enumOf,
  int,
  list,
  map,
  obj,
  opt,
  port,
  protocol,
  ptr,
  required,
  str,
  time,
  uint16,
  zero,
} from "./dsl.js";

export const GLOBAL_ONLY_IN_NAMESPACE_SELECTOR =
  "global() can only be used in an EntityRule namespaceSelector";

export const selector = (noGlobal?: string) =>
  str({ format: "selector", maxLength: 1024, ...(noGlobal ? { noGlobal } : {}) });

export const objectMeta = obj([
  opt("name", str()),
  opt("generateName", str()),
  opt("namespace", str()),
  opt("selfLink", str()),
  opt("uid", str()),
  opt("resourceVersion", str()),
  opt("generation", int()),
  // Go writes `null` for an unset creation time; we leave it out so unset stays unset.
  ptr("creationTimestamp", time),
  ptr("deletionTimestamp", time),
  ptr("deletionGracePeriodSeconds", int()),
  opt("labels", map()),
  opt("annotations", map()),
  opt("ownerReferences", list(any)),
  opt("finalizers", list(str())),
  opt("managedFields", list(any)),
]);

export const ACTIONS = ["Allow", "Deny", "Log", "Pass"] as const;
export const POLICY_TYPES = ["Ingress", "Egress"] as const;

const icmpFields = obj([ptr("type", int({ min: 0, max: 254 })), ptr("code", int({ min: 0, max: 255 }))]);

export const entityRule = obj([
  opt("nets", list(str(), { maxItems: 256 })),
  opt("selector", selector(GLOBAL_ONLY_IN_NAMESPACE_SELECTOR)),
  opt("namespaceSelector", selector()),
  ptr(
    "services",
    obj([
      opt("name", str({ format: "name", maxLength: 253 })),
      opt("namespace", str({ format: "name", maxLength: 253 })),
    ]),
  ),
  opt("ports", list(port, { maxItems: 50 })),
  opt("notNets", list(str(), { maxItems: 256 })),
  opt("notSelector", selector()),
  opt("notPorts", list(port, { maxItems: 50 })),
  ptr("serviceAccounts", obj([opt("names", list(str())), opt("selector", selector())])),
]);

const httpMatch = obj([
  opt("methods", list(str(), { maxItems: 20 })),
  opt(
    "paths",
    list(obj([opt("exact", str({ maxLength: 1024 })), opt("prefix", str({ maxLength: 1024 }))]), {
      maxItems: 20,
    }),
  ),
]);

export const rule = obj([
  required(always("action", enumOf(ACTIONS))),
  ptr("ipVersion", int({ values: [4, 6] })),
  ptr("protocol", protocol),
  ptr("icmp", icmpFields),
  ptr("notProtocol", protocol),
  ptr("notICMP", icmpFields),
  zero("source", entityRule),
  zero("destination", entityRule),
  ptr("http", httpMatch),
  ptr("metadata", obj([opt("annotations", map())])),
]);

export const rules = list(rule, { maxItems: 1024 });

/** HostEndpoint named port. */
export const endpointPort = obj([
  required(always("name", str({ format: "portName" }))),
  always("protocol", protocol),
  always("port", int({ min: 1, max: 65535 })),
]);

/** WorkloadEndpoint port; unlike HostEndpoint ports the name may be empty when hostPort is set. */
export const workloadEndpointPort = obj([
  always("name", str({ format: "portName" })),
  always("protocol", protocol),
  always("port", int({ min: 1, max: 65535 })),
  always("hostPort", uint16),
  always("hostIP", str({ format: "net" })),
]);

/** Kubernetes `metav1.Condition`, carried opaquely in status blocks. */
export const conditions = list(any);

export const secretKeyRef = obj([
  ptr("secretKeyRef", obj([opt("name", str()), always("key", str()), ptr("optional", { kind: "bool" })])),
]);
