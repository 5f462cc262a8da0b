/** Node-side kinds: Node, HostEndpoint, WorkloadEndpoint, CalicoNodeStatus. */
import { endpointPort, workloadEndpointPort } from "./common.js";
import { always, asNumber, dscp, enumOf, int, list, obj, opt, ptr, required, str, time } from "./dsl.js";

export const nodeSpec = obj([
  ptr(
    "bgp",
    obj([
      ptr("asNumber", asNumber),
      opt("ipv4Address", str({ format: "cidrv4" })),
      opt("ipv6Address", str({ format: "cidrv6" })),
      opt("ipv4IPIPTunnelAddr", str({ format: "ipv4" })),
      opt("routeReflectorClusterID", str({ format: "ipv4" })),
    ]),
  ),
  opt("ipv4VXLANTunnelAddr", str({ format: "ipv4" })),
  opt("vxlanTunnelMACAddr", str({ format: "mac" })),
  opt("ipv6VXLANTunnelAddr", str({ format: "ipv6" })),
  opt("vxlanTunnelMACAddrV6", str({ format: "mac" })),
  opt("orchRefs", list(obj([opt("nodeName", str()), always("orchestrator", str())]))),
  ptr(
    "wireguard",
    obj([
      opt("interfaceIPv4Address", str({ format: "ipv4" })),
      opt("interfaceIPv6Address", str({ format: "ipv6" })),
    ]),
  ),
  opt(
    "addresses",
    list(
      obj([
        required(always("address", str({ format: "net" }))),
        opt("type", enumOf(["CalicoNodeIP", "InternalIP", "ExternalIP"])),
      ]),
    ),
  ),
  opt("interfaces", list(obj([opt("name", str({ format: "name" })), opt("addresses", list(str()))]))),
]);

export const nodeStatus = obj([
  opt("wireguardPublicKey", str({ format: "wireguardKey" })),
  opt("wireguardPublicKeyV6", str({ format: "wireguardKey" })),
  opt("podCIDRs", list(str())),
]);

export const hostEndpointSpec = obj([
  opt("node", str({ format: "name", maxLength: 253 })),
  opt("interfaceName", str({ format: "interface", maxLength: 15 })),
  opt("expectedIPs", list(str({ format: "ip" }))),
  opt("profiles", list(str({ format: "name" }))),
  opt("ports", list(endpointPort)),
]);

const int64 = int();

export const workloadEndpointSpec = obj([
  opt("orchestrator", str({ format: "name" })),
  opt("workload", str({ format: "name" })),
  opt("node", str({ format: "name" })),
  opt("containerID", str({ format: "containerID" })),
  opt("pod", str({ format: "name" })),
  opt("endpoint", str({ format: "name" })),
  opt("serviceAccountName", str({ format: "name" })),
  // Entries are checked by the WorkloadEndpoint validator (single addresses only).
  opt("ipNetworks", list(str())),
  opt("ipNATs", list(obj([always("internalIP", str()), always("externalIP", str())]))),
  opt("ipv4Gateway", str({ format: "ipv4" })),
  opt("ipv6Gateway", str({ format: "ipv6" })),
  opt("profiles", list(str({ format: "name" }))),
  required(opt("interfaceName", str({ format: "interface" }))),
  opt("mac", str({ format: "mac" })),
  opt("ports", list(workloadEndpointPort)),
  opt("allowSpoofedSourcePrefixes", list(str({ format: "cidr" }))),
  ptr(
    "qosControls",
    obj([
      opt("ingressBandwidth", int64),
      opt("ingressBurst", int64),
      opt("ingressPeakrate", int64),
      opt("ingressMinburst", int64),
      opt("egressBandwidth", int64),
      opt("egressBurst", int64),
      opt("egressPeakrate", int64),
      opt("egressMinburst", int64),
      opt("ingressPacketRate", int64),
      opt("ingressPacketBurst", int64),
      opt("egressPacketRate", int64),
      opt("egressPacketBurst", int64),
      opt("ingressMaxConnections", int64),
      opt("egressMaxConnections", int64),
      ptr("dscp", dscp),
    ]),
  ),
]);

export const calicoNodeStatusSpec = obj([
  required(opt("node", str({ format: "name" }))),
  required(opt("classes", list(enumOf(["Agent", "BGP", "Routes"]), { unique: true }))),
  required(ptr("updatePeriodSeconds", int({ min: 0, max: 86400 }))),
]);

const daemonStatus = obj([
  opt("state", enumOf(["Ready", "NotReady"])),
  opt("version", str()),
  opt("routerID", str()),
  opt("lastBootTime", str()),
  opt("lastReconfigurationTime", str()),
]);

const peerStatus = obj([
  opt("peerIP", str({ format: "ip" })),
  opt("type", enumOf(["NodeMesh", "NodePeer", "GlobalPeer"])),
  opt("state", enumOf(["Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established", "Close"])),
  opt("since", str()),
]);

const routeStatus = obj([
  opt("type", enumOf(["FIB", "RIB"])),
  opt("destination", str()),
  opt("gateway", str()),
  opt("interface", str()),
  always(
    "learnedFrom",
    obj([
      opt("sourceType", enumOf(["Kernel", "Static", "Direct", "NodeMesh", "BGPPeer"])),
      opt("peerIP", str({ format: "ip" })),
    ]),
  ),
]);

export const calicoNodeStatusStatus = obj([
  always("lastUpdated", time),
  always("agent", obj([always("birdV4", daemonStatus), always("birdV6", daemonStatus)])),
  always(
    "bgp",
    obj([
      always("numberEstablishedV4", int()),
      always("numberNotEstablishedV4", int()),
      always("numberEstablishedV6", int()),
      always("numberNotEstablishedV6", int()),
      opt("peersV4", list(peerStatus)),
      opt("peersV6", list(peerStatus)),
    ]),
  ),
  always("routes", obj([opt("routesV4", list(routeStatus)), opt("routesV6", list(routeStatus))])),
]);
