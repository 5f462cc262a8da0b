/**
 * The dataplane as the daemon drives it, and how it is built from Felix's effective config. The
 * daemon creates it only once the calculation graph has sent its first config, which only happens
 * after the datastore is in sync: nothing touches the kernel before that.
 */
import type { ToDataplane } from "../calc/index.js";
import {
  type CommandRunner,
  DEFAULT_FAILSAFE_INBOUND,
  DEFAULT_FAILSAFE_OUTBOUND,
  defaultRenderConfig,
  PolicyDataplane,
  parseFailsafePorts,
  policyBackendFromConfig,
  type RenderConfig,
  type TunnelLog,
  tunnelOptionsFromConfig,
} from "../dataplane/index.js";
import { saysTrue } from "./params.js";

export interface DaemonDataplane {
  onUpdate(msg: ToDataplane): void;
  readonly needsApply: boolean;
  /** When (ms since the epoch) apply() must run again even without changes. */
  readonly applyDeadline: number | undefined;
  apply(): Promise<unknown>;
  /** Forget what is known about the kernel so the next apply re-reads and repairs it. */
  resync(): void;
  /** A workload interface changed: re-check routes and interface settings on the next apply. */
  interfacesChanged(): void;
  /** Ends helper processes the dataplane keeps (the `nft -i` session). */
  close?(): void;
}

/** Who the dataplane runs for: the host's name (its own VTEP, its node IP) and where it logs. */
export interface DataplaneContext {
  hostname: string;
  log?: TunnelLog;
}

export type DataplaneFactory = (
  config: Readonly<Record<string, string>>,
  run: CommandRunner,
  context: DataplaneContext,
) => DaemonDataplane;

function endpointToHostAction(value: string | undefined): "drop" | "accept" | "return" {
  switch ((value ?? "Drop").toLowerCase()) {
    case "accept":
      return "accept";
    case "return":
      return "return";
    default:
      return "drop";
  }
}

/** The rule renderer's settings from Felix's effective config (also what the policy trace reads). */
export function renderConfigFromFelix(
  config: Readonly<Record<string, string>>,
  vxlanPort = 4789,
): RenderConfig {
  return defaultRenderConfig({
    interfacePrefixes: (config.InterfacePrefix ?? "cali")
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== ""),
    logPrefix: config.LogPrefix ?? "calico-packet",
    endpointToHostAction: endpointToHostAction(config.DefaultEndpointToHostAction),
    vxlanPort,
    failsafeInbound: parseFailsafePorts(
      "FailsafeInboundHostPorts",
      config.FailsafeInboundHostPorts,
      DEFAULT_FAILSAFE_INBOUND,
    ),
    // Either flow log output needs the verdicts NFLOGged.
    flowLogs: saysTrue(config.FlowLogsFileEnabled) || saysTrue(config.FlowLogsHTTPEnabled),
    failsafeOutbound: parseFailsafePorts(
      "FailsafeOutboundHostPorts",
      config.FailsafeOutboundHostPorts,
      DEFAULT_FAILSAFE_OUTBOUND,
    ),
  });
}

export const policyDataplaneFactory: DataplaneFactory = (config, run, context) => {
  const tunnels = tunnelOptionsFromConfig(config, context.hostname, context.log);
  return new PolicyDataplane(
    run,
    renderConfigFromFelix(config, tunnels.settings.port),
    policyBackendFromConfig(config),
    {
      ...(config.ProgramClusterRoutes === undefined
        ? {}
        : { programClusterRoutes: config.ProgramClusterRoutes }),
      ipv6: (config.Ipv6Support ?? config.IPv6Support ?? "true").toLowerCase() !== "false",
      ipForwarding: (config.IPForwarding ?? "Enabled").toLowerCase() !== "disabled",
      tunnels,
    },
  );
};
