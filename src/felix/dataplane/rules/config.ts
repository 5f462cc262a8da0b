import { DEFAULT_FAILSAFE_INBOUND, DEFAULT_FAILSAFE_OUTBOUND, type FailsafePort } from "./failsafe.js";
import { allocateMarks, type MarkBits } from "./marks.js";

/** The Felix settings the policy rendering depends on. */
export interface RenderConfig {
  tableName: string;
  marks: MarkBits;
  /** Workload interface prefixes (`InterfacePrefix`). */
  interfacePrefixes: string[];
  /** `LogPrefix`; `%k` kind, `%n` name, `%p` namespace/name, `%t` tier are substituted. */
  logPrefix: string;
  /** `LogActionRateLimit` (`10/second`); unset logs every match. */
  logActionRateLimit?: string;
  /** `LogActionRateLimitBurst`. */
  logActionRateLimitBurst: number;
  /** `NftablesFilterDenyAction`. */
  denyAction: "drop" | "reject";
  /** `DefaultEndpointToHostAction`. */
  endpointToHostAction: "drop" | "accept" | "return";
  /** `DisableConntrackInvalidCheck`. */
  conntrackInvalidCheck: boolean;
  /** `NATOutgoingAddress`: SNAT to this address instead of masquerading. */
  natOutgoingAddress?: string;
  allowVxlanFromWorkloads: boolean;
  /** `VXLANPort`: the UDP port VXLAN is accepted on, from cluster hosts only. */
  vxlanPort: number;
  allowIpipFromWorkloads: boolean;
  /** `FailsafeInboundHostPorts` / `FailsafeOutboundHostPorts`, kept open on every host endpoint. */
  failsafeInbound: readonly FailsafePort[];
  failsafeOutbound: readonly FailsafePort[];
  /** Flow logs on: each verdict also NFLOGs the packet with a prefix naming its rule (nflog.ts). */
  flowLogs: boolean;
}

export function defaultRenderConfig(overrides: Partial<RenderConfig> = {}): RenderConfig {
  return {
    tableName: "calico",
    marks: allocateMarks(),
    interfacePrefixes: ["cali"],
    logPrefix: "calico-packet",
    logActionRateLimitBurst: 5,
    denyAction: "drop",
    endpointToHostAction: "drop",
    conntrackInvalidCheck: true,
    allowVxlanFromWorkloads: false,
    vxlanPort: 4789,
    allowIpipFromWorkloads: false,
    failsafeInbound: DEFAULT_FAILSAFE_INBOUND,
    failsafeOutbound: DEFAULT_FAILSAFE_OUTBOUND,
    flowLogs: false,
    ...overrides,
  };
}
