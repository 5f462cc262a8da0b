/** The overlay's Felix parameters, parsed with Calico's defaults; a bad value names its parameter. */
import { DEFAULT_MTU_FILE, type TunnelLog, type TunnelOptions } from "./manager.js";
import { DEFAULT_MTU_IFACE_PATTERN } from "./plan.js";

export class TunnelConfigError extends Error {}

function int(
  config: Readonly<Record<string, string>>,
  name: string,
  dflt: number,
  min: number,
  max: number,
): number {
  const raw = config[name];
  if (raw === undefined || raw.trim() === "") return dflt;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < min || n > max)
    throw new TunnelConfigError(
      `invalid value for ${name}: '${raw}' is not a whole number from ${min} to ${max}`,
    );
  return n;
}

export function tunnelOptionsFromConfig(
  config: Readonly<Record<string, string>>,
  hostname: string,
  log?: TunnelLog,
): TunnelOptions {
  const patternText = config.MTUIfacePattern ?? DEFAULT_MTU_IFACE_PATTERN;
  let mtuIfacePattern: RegExp;
  try {
    mtuIfacePattern = new RegExp(patternText);
  } catch (err) {
    throw new TunnelConfigError(`invalid value for MTUIfacePattern: ${(err as Error).message}`);
  }
  return {
    hostname,
    settings: {
      // VNIs are 24 bits.
      vni: int(config, "VXLANVNI", 4096, 1, 16_777_215),
      port: int(config, "VXLANPort", 4789, 1, 65_535),
      vxlanMtu: int(config, "VXLANMTU", 0, 0, 65_535),
      vxlanMtuV6: int(config, "VXLANMTUV6", 0, 0, 65_535),
      ipipMtu: int(config, "IpInIpMtu", 0, 0, 65_535),
    },
    mtuIfacePattern,
    mtuFile: config.MTUFilePath ?? DEFAULT_MTU_FILE,
    ...(log ? { log } : {}),
  };
}
