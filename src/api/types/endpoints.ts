/** Node-side kinds: Node, HostEndpoint, WorkloadEndpoint, CalicoNodeStatus. */
import type { Resource } from "../meta.js";
import type { ASNumber, Protocol } from "../values.js";
import type { DSCP, EndpointPort } from "./common.js";

export interface NodeBGPSpec {
  asNumber?: ASNumber;
  /** Address with prefix, e.g. `10.0.0.5/24`. */
  ipv4Address?: string;
  ipv6Address?: string;
  ipv4IPIPTunnelAddr?: string;
  routeReflectorClusterID?: string;
}

export interface NodeSpec {
  bgp?: NodeBGPSpec;
  ipv4VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddrV6?: string;
  orchRefs?: { nodeName?: string; orchestrator: string }[];
  wireguard?: { interfaceIPv4Address?: string; interfaceIPv6Address?: string };
  addresses?: { address: string; type?: "CalicoNodeIP" | "InternalIP" | "ExternalIP" }[];
  interfaces?: { name?: string; addresses?: string[] }[];
}

export interface NodeStatus {
  wireguardPublicKey?: string;
  wireguardPublicKeyV6?: string;
  podCIDRs?: string[];
}

export type Node = Resource<NodeSpec, NodeStatus>;

export interface HostEndpointSpec {
  node?: string;
  interfaceName?: string;
  expectedIPs?: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}

export type HostEndpoint = Resource<HostEndpointSpec>;

export interface WorkloadEndpointPort {
  name: string;
  protocol: Protocol;
  port: number;
  hostPort?: number;
  hostIP?: string;
}

export interface QoSControls {
  ingressBandwidth?: number;
  ingressBurst?: number;
  ingressPeakrate?: number;
  ingressMinburst?: number;
  egressBandwidth?: number;
  egressBurst?: number;
  egressPeakrate?: number;
  egressMinburst?: number;
  ingressPacketRate?: number;
  ingressPacketBurst?: number;
  egressPacketRate?: number;
  egressPacketBurst?: number;
  ingressMaxConnections?: number;
  egressMaxConnections?: number;
  dscp?: DSCP;
}

export interface WorkloadEndpointSpec {
  orchestrator?: string;
  workload?: string;
  node?: string;
  containerID?: string;
  pod?: string;
  endpoint?: string;
  serviceAccountName?: string;
  ipNetworks?: string[];
  ipNATs?: { internalIP: string; externalIP: string }[];
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  profiles?: string[];
  interfaceName?: string;
  mac?: string;
  ports?: WorkloadEndpointPort[];
  allowSpoofedSourcePrefixes?: string[];
  qosControls?: QoSControls;
}

export type WorkloadEndpoint = Resource<WorkloadEndpointSpec>;

export type NodeStatusClass = "Agent" | "BGP" | "Routes";

export interface CalicoNodeStatusSpec {
  node: string;
  classes: NodeStatusClass[];
  updatePeriodSeconds: number;
}

export interface BGPDaemonStatus {
  state?: "Ready" | "NotReady";
  version?: string;
  routerID?: string;
  lastBootTime?: string;
  lastReconfigurationTime?: string;
}

export interface CalicoNodePeer {
  peerIP?: string;
  type?: "NodeMesh" | "NodePeer" | "GlobalPeer";
  state?: string;
  since?: string;
}

export interface CalicoNodeRoute {
  type?: "FIB" | "RIB";
  destination?: string;
  gateway?: string;
  interface?: string;
  learnedFrom?: { sourceType?: string; peerIP?: string };
}

export interface CalicoNodeStatusStatus {
  lastUpdated?: string | null;
  agent?: { birdV4?: BGPDaemonStatus; birdV6?: BGPDaemonStatus };
  bgp?: {
    numberEstablishedV4?: number;
    numberNotEstablishedV4?: number;
    numberEstablishedV6?: number;
    numberNotEstablishedV6?: number;
    peersV4?: CalicoNodePeer[];
    peersV6?: CalicoNodePeer[];
  };
  routes?: { routesV4?: CalicoNodeRoute[]; routesV6?: CalicoNodeRoute[] };
}

export type CalicoNodeStatus = Resource<CalicoNodeStatusSpec, CalicoNodeStatusStatus>;
