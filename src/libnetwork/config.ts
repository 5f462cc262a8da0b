/**
 * The plugin's settings, read from the environment as Calico's libnetwork-plugin reads them
 * (`CALICO_LIBNETWORK_*`, `HOSTNAME`, `CALICO_DEBUG`), plus where to put the plugin sockets and
 * how to reach Docker. Pure: every bad value is refused here with the variable's name.
 */
import { hostname } from "node:os";
import { parseGoDuration } from "../api/duration.js";

export const DEFAULT_PLUGIN_DIR = "/run/docker/plugins";
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";
/** Container labels with this prefix become WorkloadEndpoint labels (prefix removed). */
export const LABEL_PREFIX = "org.projectcalico.label.";

export interface LibnetworkConfig {
  /** Calico node name the endpoints and IPAM affinities belong to. */
  nodename: string;
  /** Directory dockerd looks for plugin sockets in; `calico.sock` and `calico-ipam.sock` go there. */
  pluginDir: string;
  /** Docker API socket path, for network names and container labels. */
  dockerSocket: string;
  /** Container-side interface prefix Docker numbers (`cali` → `cali0`). */
  ifPrefix: string;
  createProfiles: boolean;
  labelEndpoints: boolean;
  labelPollTimeoutMs: number;
  /** veth MTU; the kernel's default when undefined. */
  vethMtu?: number;
  debug: boolean;
}

export class ConfigError extends Error {}

const KNOWN = new Set([
  "CALICO_LIBNETWORK_IFPREFIX",
  "CALICO_LIBNETWORK_CREATE_PROFILES",
  "CALICO_LIBNETWORK_LABEL_ENDPOINTS",
  "CALICO_LIBNETWORK_LABEL_POLL_TIMEOUT",
  "CALICO_LIBNETWORK_VETH_MTU",
  "CALICO_LIBNETWORK_PLUGIN_DIR",
]);

function bool(env: NodeJS.ProcessEnv, name: string, dflt: boolean): boolean {
  const v = env[name];
  if (v === undefined || v === "") return dflt;
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  throw new ConfigError(`invalid value '${v}' for ${name} (expected true or false)`);
}

function dockerSocket(host: string): string {
  if (!host.startsWith("unix://") || host.length <= "unix://".length)
    throw new ConfigError(
      `invalid value '${host}' for DOCKER_HOST (only unix:///path sockets are supported)`,
    );
  return host.slice("unix://".length);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): LibnetworkConfig {
  for (const name of Object.keys(env)) {
    if (name.startsWith("CALICO_LIBNETWORK_") && !KNOWN.has(name))
      throw new ConfigError(`unknown setting ${name} (known: ${[...KNOWN].sort().join(", ")})`);
  }
  const ifPrefix = env.CALICO_LIBNETWORK_IFPREFIX || "cali";
  if (!/^[a-zA-Z][a-zA-Z0-9_-]{0,9}$/.test(ifPrefix))
    throw new ConfigError(
      `invalid value '${ifPrefix}' for CALICO_LIBNETWORK_IFPREFIX (1-10 letters, digits, '_' or '-', starting with a letter)`,
    );
  let labelPollTimeoutMs = 5_000;
  const poll = env.CALICO_LIBNETWORK_LABEL_POLL_TIMEOUT;
  if (poll) {
    const d = parseGoDuration(poll);
    if (d === undefined || d <= 0n)
      throw new ConfigError(
        `invalid value '${poll}' for CALICO_LIBNETWORK_LABEL_POLL_TIMEOUT (a duration such as 5s)`,
      );
    labelPollTimeoutMs = Number(d / 1_000_000n);
  }
  let vethMtu: number | undefined;
  const mtu = env.CALICO_LIBNETWORK_VETH_MTU;
  if (mtu) {
    vethMtu = Number(mtu);
    if (!/^\d+$/.test(mtu) || vethMtu < 68 || vethMtu > 65535)
      throw new ConfigError(`invalid value '${mtu}' for CALICO_LIBNETWORK_VETH_MTU (68-65535)`);
  }
  const nodename = (env.NODENAME || env.HOSTNAME || hostname()).trim().toLowerCase();
  const cfg: LibnetworkConfig = {
    nodename,
    pluginDir: env.CALICO_LIBNETWORK_PLUGIN_DIR || DEFAULT_PLUGIN_DIR,
    dockerSocket: dockerSocket(env.DOCKER_HOST || DEFAULT_DOCKER_HOST),
    ifPrefix,
    createProfiles: bool(env, "CALICO_LIBNETWORK_CREATE_PROFILES", true),
    labelEndpoints: bool(env, "CALICO_LIBNETWORK_LABEL_ENDPOINTS", false),
    labelPollTimeoutMs,
    debug: (env.CALICO_DEBUG ?? "") !== "",
  };
  if (vethMtu !== undefined) cfg.vethMtu = vethMtu;
  return cfg;
}
