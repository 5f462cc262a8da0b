/** Cluster-wide singletons. */
import type { Resource } from "../meta.js";
import type { Duration, EnabledDisabled } from "./common.js";

export interface ClusterInformationSpec {
  clusterGUID?: string;
  clusterType?: string;
  calicoVersion?: string;
  /** false = datastore locked (e.g. during migration). */
  datastoreReady?: boolean;
  variant?: string;
}

export type ClusterInformation = Resource<ClusterInformationSpec>;

export interface HostEndpointTemplate {
  generateName?: string;
  interfaceCIDRs?: string[];
  interfacePattern?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  nodeSelector?: string;
}

export interface ControllersConfig {
  node?: {
    reconcilerPeriod?: Duration;
    syncLabels?: EnabledDisabled;
    hostEndpoint?: {
      autoCreate?: EnabledDisabled;
      createDefaultHostEndpoint?: EnabledDisabled;
      templates?: HostEndpointTemplate[];
    };
    leakGracePeriod?: Duration;
  };
  policy?: { reconcilerPeriod?: Duration };
  workloadEndpoint?: { reconcilerPeriod?: Duration };
  serviceAccount?: { reconcilerPeriod?: Duration };
  namespace?: { reconcilerPeriod?: Duration };
  loadBalancer?: { assignIPs?: "AllServices" | "RequestedServicesOnly" };
  migration?: { policyNameMigrator?: EnabledDisabled };
}

export interface KubeControllersConfigurationSpec {
  logSeverityScreen?: string;
  healthChecks?: EnabledDisabled;
  etcdV3CompactionPeriod?: Duration;
  prometheusMetricsPort?: number;
  controllers?: ControllersConfig;
  debugProfilePort?: number;
}

export interface KubeControllersConfigurationStatus {
  runningConfig?: KubeControllersConfigurationSpec;
  environmentVars?: Record<string, string>;
}

export type KubeControllersConfiguration = Resource<
  KubeControllersConfigurationSpec,
  KubeControllersConfigurationStatus
>;
