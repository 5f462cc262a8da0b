/** Address-management kinds. */
import type { Resource } from "../meta.js";
import type { Condition } from "./common.js";

export type EncapMode = "Never" | "Always" | "CrossSubnet";
export type IPPoolAllowedUse = "Workload" | "Tunnel" | "LoadBalancer";
export type AssignmentMode = "Automatic" | "Manual";

export interface IPPoolSpec {
  cidr: string;
  vxlanMode?: EncapMode;
  ipipMode?: EncapMode;
  natOutgoing?: boolean;
  disabled?: boolean;
  disableBGPExport?: boolean;
  /** 26 (IPv4) / 122 (IPv6) when defaulted. */
  blockSize?: number;
  nodeSelector?: string;
  namespaceSelector?: string;
  allowedUses?: IPPoolAllowedUse[];
  assignmentMode?: AssignmentMode;
}

export interface IPPoolStatus {
  conditions?: Condition[];
}

export type IPPool = Resource<IPPoolSpec, IPPoolStatus>;

export interface IPReservationSpec {
  reservedCIDRs?: string[];
}

export type IPReservation = Resource<IPReservationSpec>;

export interface IPAMConfigurationSpec {
  strictAffinity: boolean;
  maxBlocksPerHost?: number;
  autoAllocateBlocks: boolean;
  kubeVirtVMAddressPersistence?: "Enabled" | "Disabled";
  ipCooldownSeconds?: number;
}

export type IPAMConfiguration = Resource<IPAMConfigurationSpec>;
