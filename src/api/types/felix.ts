/** FelixConfiguration: per-cluster, per-node (`node.<name>`) or selector-scoped Felix settings. */
import type { Resource } from "../meta.js";
import type { Port } from "../values.js";
import type { DSCP, Duration, EnabledDisabled } from "./common.js";

export interface ProtoPort {
  protocol?: string;
  port: number;
  net?: string;
}

export interface HealthTimeoutOverride {
  name: string;
  timeout: Duration;
}

export interface RouteTableIDRange {
  min: number;
  max: number;
}

export interface BPFConntrackTimeouts {
  creationGracePeriod?: string;
  tcpSynSent?: string;
  tcpEstablished?: string;
  tcpFinsSeen?: string;
  tcpResetSeen?: string;
  udpTimeout?: string;
  genericTimeout?: string;
  icmpTimeout?: string;
}

export interface FelixConfigurationSpec {
  nodeSelector?: string;
  useInternalDataplaneDriver?: boolean;
  dataplaneDriver?: string;
  dataplaneWatchdogTimeout?: Duration;
  ipv6Support?: boolean;
  routeRefreshInterval?: Duration;
  interfaceRefreshInterval?: Duration;
  iptablesRefreshInterval?: Duration;
  iptablesPostWriteCheckInterval?: Duration;
  iptablesLockProbeInterval?: Duration;
  featureDetectOverride?: string;
  featureGates?: string;
  ipsetsRefreshInterval?: Duration;
  maxIpsetSize?: number;
  iptablesBackend?: "Legacy" | "NFT" | "Auto";
  xdpRefreshInterval?: Duration;
  netlinkTimeout?: Duration;
  metadataAddr?: string;
  metadataPort?: number;
  openstackRegion?: string;
  interfacePrefix?: string;
  interfaceExclude?: string;
  chainInsertMode?: string;
  defaultEndpointToHostAction?: string;
  iptablesFilterAllowAction?: string;
  iptablesMangleAllowAction?: string;
  iptablesFilterDenyAction?: string;
  logPrefix?: string;
  logActionRateLimit?: string;
  logActionRateLimitBurst?: number;
  logFilePath?: string;
  logSeverityFile?: string;
  logSeverityScreen?: string;
  logSeveritySys?: string;
  logDebugFilenameRegex?: string;
  ipipEnabled?: boolean;
  ipipMTU?: number;
  vxlanEnabled?: boolean;
  vxlanMTU?: number;
  vxlanMTUV6?: number;
  vxlanPort?: number;
  vxlanVNI?: number;
  allowVXLANPacketsFromWorkloads?: boolean;
  allowIPIPPacketsFromWorkloads?: boolean;
  reportingInterval?: Duration;
  reportingTTL?: Duration;
  endpointReportingEnabled?: boolean;
  endpointReportingDelay?: Duration;
  endpointStatusPathPrefix?: string;
  iptablesMarkMask?: number;
  disableConntrackInvalidCheck?: boolean;
  healthEnabled?: boolean;
  healthHost?: string;
  healthPort?: number;
  healthTimeoutOverrides?: HealthTimeoutOverride[];
  prometheusMetricsEnabled?: boolean;
  prometheusMetricsHost?: string;
  prometheusMetricsPort?: number;
  prometheusGoMetricsEnabled?: boolean;
  prometheusProcessMetricsEnabled?: boolean;
  prometheusWireGuardMetricsEnabled?: boolean;
  prometheusMetricsCAFile?: string;
  prometheusMetricsCertFile?: string;
  prometheusMetricsKeyFile?: string;
  prometheusMetricsClientAuth?:
    | "RequireAndVerifyClientCert"
    | "RequireAnyClientCert"
    | "VerifyClientCertIfGiven"
    | "NoClientCert";
  failsafeInboundHostPorts?: ProtoPort[];
  failsafeOutboundHostPorts?: ProtoPort[];
  kubeNodePortRanges?: Port[];
  policySyncPathPrefix?: string;
  usageReportingEnabled?: boolean;
  usageReportingInitialDelay?: Duration;
  usageReportingInterval?: Duration;
  natPortRange?: Port;
  natOutgoingAddress?: string;
  natOutgoingExclusions?: "IPPoolsOnly" | "IPPoolsAndHostIPs";
  deviceRouteSourceAddress?: string;
  deviceRouteSourceAddressIPv6?: string;
  deviceRouteProtocol?: number;
  removeExternalRoutes?: boolean;
  programClusterRoutes?: string;
  ipForwarding?: string;
  externalNodesList?: string[];
  debugMemoryProfilePath?: string;
  debugDisableLogDropping?: boolean;
  debugSimulateCalcGraphHangAfter?: Duration;
  debugSimulateDataplaneHangAfter?: Duration;
  debugSimulateDataplaneApplyDelay?: Duration;
  debugHost?: string;
  debugPort?: number;
  iptablesNATOutgoingInterfaceFilter?: string;
  sidecarAccelerationEnabled?: boolean;
  xdpEnabled?: boolean;
  genericXDPEnabled?: boolean;
  nftablesMode?: "Disabled" | "Enabled" | "Auto";
  nftablesFlowTableOffload?: "All" | "Disabled";
  nftablesFlowTableDataIfacePattern?: string;
  nftablesRefreshInterval?: Duration;
  nftablesFilterAllowAction?: string;
  nftablesMangleAllowAction?: string;
  nftablesFilterDenyAction?: string;
  nftablesMarkMask?: number;
  bpfEnabled?: boolean;
  bpfOverlayHostSourceIP?: "TunnelAddress" | "HostAddress";
  bpfDisableUnprivileged?: boolean;
  bpfJITHardening?: "Auto" | "Strict";
  /** Always present in canonical output (Calico writes `""` when unset). */
  bpfLogLevel?: string;
  bpfConntrackLogLevel?: string;
  bpfConntrackMode?: "Auto" | "Userspace" | "BPFProgram";
  bpfConntrackTimeouts?: BPFConntrackTimeouts;
  bpfIPFragTimeout?: Duration;
  bpfLogFilters?: Record<string, string>;
  bpfCTLBLogFilter?: string;
  bpfDataIfacePattern?: string;
  bpfL3IfacePattern?: string;
  bpfConnectTimeLoadBalancingEnabled?: boolean;
  bpfConnectTimeLoadBalancing?: "TCP" | "Enabled" | "Disabled";
  bpfHostNetworkedNATWithoutCTLB?: EnabledDisabled;
  bpfExternalServiceMode?: string;
  bpfDSROptoutCIDRs?: string[];
  bpfExtToServiceConnmark?: number;
  bpfKubeProxyIptablesCleanupEnabled?: boolean;
  bpfKubeProxyMinSyncPeriod?: Duration;
  bpfKubeProxyHealthzPort?: number;
  bpfPSNATPorts?: Port;
  bpfMapSizeNATFrontend?: number;
  bpfMapSizeNATBackend?: number;
  bpfMapSizeNATAffinity?: number;
  bpfMapSizeRoute?: number;
  bpfMapSizeConntrack?: number;
  bpfMapSizePerCpuConntrack?: number;
  bpfMapSizeConntrackScaling?: string;
  bpfMapSizeConntrackCleanupQueue?: number;
  bpfMapSizeIPSets?: number;
  bpfMapSizeIfState?: number;
  bpfHostConntrackBypass?: boolean;
  bpfIPFragmentReassemblyEnabled?: boolean;
  bpfEnforceRPF?: string;
  bpfPolicyDebugEnabled?: boolean;
  bpfForceTrackPacketsFromIfaces?: string[];
  bpfDisableGROForIfaces?: string;
  bpfExcludeCIDRsFromNAT?: string[];
  bpfExportBufferSizeMB?: number;
  istioAmbientMode?: EnabledDisabled;
  istioDSCPMark?: DSCP;
  cgroupV2Path?: string;
  flowLogsPolicyEvaluationMode?: "None" | "Continuous";
  bpfRedirectToPeer?: string;
  bpfAttachType?: "TC" | "TCX" | "Netkit";
  flowLogsFlushInterval?: Duration;
  flowLogsCollectorDebugTrace?: boolean;
  flowLogsGoldmaneServer?: string;
  flowLogsLocalReporter?: string;
  bpfProfiling?: string;
  routeSource?: string;
  routeTableRanges?: RouteTableIDRange[];
  routeTableRange?: RouteTableIDRange;
  routeSyncDisabled?: boolean;
  ipv4NormalRoutePriority?: number;
  ipv4ElevatedRoutePriority?: number;
  ipv6NormalRoutePriority?: number;
  ipv6ElevatedRoutePriority?: number;
  liveMigrationRouteConvergenceTime?: Duration;
  wireguardEnabled?: boolean;
  wireguardEnabledV6?: boolean;
  wireguardThreadingEnabled?: boolean;
  wireguardListeningPort?: number;
  wireguardListeningPortV6?: number;
  wireguardRoutingRulePriority?: number;
  wireguardInterfaceName?: string;
  wireguardInterfaceNameV6?: string;
  wireguardMTU?: number;
  wireguardMTUV6?: number;
  wireguardHostEncryptionEnabled?: boolean;
  wireguardKeepAlive?: Duration;
  awsSrcDstCheck?: "DoNothing" | "Enable" | "Disable";
  serviceLoopPrevention?: string;
  workloadSourceSpoofing?: string;
  mtuIfacePattern?: string;
  floatingIPs?: EnabledDisabled;
  localSubnetL2Reachability?: "Disabled" | "PodsAndLoadBalancers";
  localSubnetL2ReachabilityRefreshInterval?: Duration;
  windowsManageFirewallRules?: EnabledDisabled;
  goGCThreshold?: number;
  goMemoryLimitMB?: number;
  goMaxProcs?: number;
  requireMTUFile?: boolean;
  bpfMaglevMaxEndpointsPerService?: number;
  bpfMaglevMaxServices?: number;
}

export type FelixConfiguration = Resource<FelixConfigurationSpec>;
