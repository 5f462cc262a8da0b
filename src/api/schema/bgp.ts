/** BGP kinds: BGPConfiguration, BGPPeer, BGPFilter. */
import { secretKeyRef, selector } from "./common.js";
import {
  always,
  asNumber,
  bool,
  duration,
  enumOf,
  int,
  int32,
  list,
  obj,
  opt,
  ptr,
  required,
  str,
  uint8,
} from "./dsl.js";

export const LOG_LEVELS = ["Trace", "Debug", "Info", "Warning", "Error", "Fatal"] as const;
export const PROGRAM_CLUSTER_ROUTES = [
  "Enabled",
  "Disabled",
  "EnabledIPIPOnly",
  "EnabledNoEncapOnly",
] as const;

const routePriority = int({ min: 1, max: 2147483646 });
const serviceIPBlock = obj([opt("cidr", str({ format: "net" }))]);

export const bgpConfigurationSpec = obj([
  opt("logSeverityScreen", enumOf(LOG_LEVELS, { caseInsensitive: true })),
  ptr("nodeToNodeMeshEnabled", bool),
  ptr("asNumber", asNumber),
  opt("serviceLoadBalancerIPs", list(serviceIPBlock)),
  opt("serviceExternalIPs", list(serviceIPBlock)),
  opt("serviceClusterIPs", list(serviceIPBlock)),
  ptr("serviceLoadBalancerAggregation", enumOf(["Enabled", "Disabled"])),
  opt(
    "communities",
    list(
      obj([
        required(opt("name", str({ format: "name", maxLength: 253 }))),
        required(opt("value", str({ maxLength: 40 }))),
      ]),
      { maxItems: 500 },
    ),
  ),
  opt(
    "prefixAdvertisements",
    list(obj([required(opt("cidr", str())), required(opt("communities", list(str(), { maxItems: 50 })))]), {
      maxItems: 500,
    }),
  ),
  opt("listenPort", int({ min: 1, max: 65535 })),
  ptr("nodeMeshPassword", secretKeyRef),
  ptr("nodeMeshMaxRestartTime", duration),
  ptr("bindMode", enumOf(["None", "NodeIP"])),
  opt("ignoredInterfaces", list(str({ format: "ignoredInterface" }))),
  opt("localWorkloadPeeringIPV4", str({ format: "ipv4" })),
  opt("localWorkloadPeeringIPV6", str({ format: "ipv6" })),
  ptr("programClusterRoutes", enumOf(PROGRAM_CLUSTER_ROUTES)),
  ptr("ipv4NormalRoutePriority", routePriority),
  ptr("ipv6NormalRoutePriority", routePriority),
]);

export const bgpPeerSpec = obj([
  opt("node", str({ format: "name", maxLength: 253 })),
  opt("nodeSelector", selector()),
  opt("peerIP", str({ format: "ipPort", maxLength: 64 })),
  opt("asNumber", asNumber),
  ptr("localASNumber", asNumber),
  opt("peerSelector", selector()),
  opt("keepOriginalNextHop", bool),
  ptr("nextHopMode", enumOf(["Auto", "Self", "Keep"])),
  ptr("password", secretKeyRef),
  opt("sourceAddress", enumOf(["UseNodeIP", "None"])),
  ptr("maxRestartTime", duration),
  ptr("keepaliveTime", duration),
  ptr("numAllowedLocalASNumbers", int32),
  ptr("ttlSecurity", uint8),
  opt("reachableBy", str({ format: "ip", maxLength: 64 })),
  opt("filters", list(str({ format: "name" }))),
  opt("localWorkloadSelector", selector()),
  ptr("reversePeering", enumOf(["Auto", "Manual"])),
]);

const filterOperation = obj([
  ptr("addCommunity", obj([required(always("value", str()))])),
  ptr("prependASPath", obj([required(always("prefix", list(asNumber, { minItems: 1, maxItems: 10 })))])),
  ptr("setPriority", obj([required(always("value", int({ min: 1, max: 2147483646 })))])),
]);

function filterRule(family: 4 | 6) {
  const bits = family === 4 ? 32 : 128;
  return obj([
    opt("cidr", str({ format: family === 4 ? "netv4" : "netv6", maxLength: family === 4 ? 18 : 43 })),
    ptr(
      "prefixLength",
      obj([ptr("min", int({ min: 0, max: bits })), ptr("max", int({ min: 0, max: bits }))]),
    ),
    opt("source", enumOf(["RemotePeers"])),
    opt("interface", str({ format: "bgpFilterInterface", maxLength: 15 })),
    opt("matchOperator", enumOf(["Equal", "NotEqual", "In", "NotIn"])),
    opt("peerType", enumOf(["eBGP", "iBGP"])),
    ptr("communities", obj([required(always("values", list(str(), { minItems: 1, maxItems: 1 })))])),
    opt("asPathPrefix", list(asNumber)),
    ptr("priority", int({ min: 1, max: 2147483646 })),
    required(always("action", enumOf(["Accept", "Reject"]))),
    opt("operations", list(filterOperation, { minItems: 1, maxItems: 10 })),
  ]);
}

export const bgpFilterSpec = obj([
  opt("exportV4", list(filterRule(4))),
  opt("importV4", list(filterRule(4))),
  opt("exportV6", list(filterRule(6))),
  opt("importV6", list(filterRule(6))),
]);
