/**
 * Collects Felix configuration from the datastore — the global FelixConfiguration `default`,
 * this host's `node.<hostname>` (plus tunnel addresses from its Node), and selector-scoped ones
 * matching this host's Node labels (oldest wins, then name) — and merges it under the local
 * sources: environment over config file over per-host over selector-scoped over global
 *. Emits nothing before the first in-sync; then the effective
 * config whenever it changes. A ClusterInformation saying the datastore is not ready is
 * reported once per transition.
 */
import { parseSelector } from "../../selector/index.js";
import { LOCAL_ONLY } from "./config/names.js";
import type { EventSequencer } from "./event-sequencer.js";
import type { ConfigSource } from "./messages.js";
import type { ModelFelixConfiguration, ModelNode } from "./model/types.js";
import type { ClusterReadiness } from "./model/update-processor.js";

export interface LocalConfig {
  /** Parsed `FELIX_*` variables (see `configFromEnvironment`). */
  environment?: Record<string, string>;
  /** Parsed config file (see `configFromFile`). */
  configFile?: Record<string, string>;
}

const GLOBAL_NAME = "default";
const NODE_PREFIX = "node.";
const LOCAL_ONLY_SET = new Set(LOCAL_ONLY);

function withoutLocalOnly(values: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (!LOCAL_ONLY_SET.has(k)) out[k] = v;
  return out;
}

/** The per-host keys Calico derives from the Node resource. */
function nodeHostConfig(node: ModelNode): Record<string, string> {
  const out: Record<string, string> = {};
  if (node.ipv4IpipTunnelAddr) out.IpInIpTunnelAddr = node.ipv4IpipTunnelAddr;
  if (node.ipv4VxlanTunnelAddr) out.IPv4VXLANTunnelAddr = node.ipv4VxlanTunnelAddr;
  if (node.vxlanTunnelMac) out.VXLANTunnelMACAddr = node.vxlanTunnelMac;
  if (node.ipv6VxlanTunnelAddr) out.IPv6VXLANTunnelAddr = node.ipv6VxlanTunnelAddr;
  if (node.vxlanTunnelMacV6) out.VXLANTunnelMACAddrV6 = node.vxlanTunnelMacV6;
  return out;
}

export class ConfigBatcher {
  #global: ModelFelixConfiguration | undefined;
  #host: ModelFelixConfiguration | undefined;
  readonly #scoped = new Map<string, ModelFelixConfiguration>();
  #node: ModelNode | undefined;
  #ready = true;
  #notReadyReported = false;
  #inSync = false;
  /** Some input changed since the last flush. */
  #dirty = true;
  #lastSent: string | undefined;

  constructor(
    private readonly hostname: string,
    private readonly local: LocalConfig,
    private readonly sequencer: EventSequencer,
  ) {}

  onFelixConfig = (update: { key: string; value: ModelFelixConfiguration | null }): void => {
    const { key, value } = update;
    this.#dirty = true;
    if (key === GLOBAL_NAME) this.#global = value ?? undefined;
    else if (key === `${NODE_PREFIX}${this.hostname}`) this.#host = value ?? undefined;
    else if (key.startsWith(NODE_PREFIX)) return;
    else if (value?.nodeSelector) this.#scoped.set(key, value);
    else this.#scoped.delete(key);
  };

  onNode = (update: { key: string; value: ModelNode | null }): void => {
    if (update.key !== this.hostname) return;
    this.#node = update.value ?? undefined;
    this.#dirty = true;
  };

  onClusterInfo = (update: { key: string; value: ClusterReadiness | null }): void => {
    this.#ready = update.value?.datastoreReady ?? true;
    this.#dirty = true;
    if (this.#ready) this.#notReadyReported = false;
  };

  onInSync(): void {
    this.#inSync = true;
  }

  #selectorScoped(): ModelFelixConfiguration | undefined {
    const labels = this.#node?.labels ?? {};
    let best: ModelFelixConfiguration | undefined;
    for (const fc of this.#scoped.values()) {
      if (!parseSelector(fc.nodeSelector ?? "").matches(labels)) continue;
      if (
        !best ||
        fc.creationTimestamp < best.creationTimestamp ||
        (fc.creationTimestamp === best.creationTimestamp && fc.name < best.name)
      ) {
        best = fc;
      }
    }
    return best;
  }

  flush(): void {
    if (!this.#inSync || !this.#dirty) return;
    this.#dirty = false;
    if (!this.#ready && !this.#notReadyReported) {
      this.#notReadyReported = true;
      this.sequencer.onDatastoreNotReady();
    }
    const sources: Record<ConfigSource, Record<string, string>> = {
      datastoreGlobal: withoutLocalOnly(this.#global?.values ?? {}),
      datastoreSelector: withoutLocalOnly(this.#selectorScoped()?.values ?? {}),
      datastorePerHost: withoutLocalOnly({
        ...(this.#node ? nodeHostConfig(this.#node) : {}),
        ...(this.#host?.values ?? {}),
      }),
      configFile: { ...(this.local.configFile ?? {}) },
      environment: { ...(this.local.environment ?? {}) },
    };
    // Lowest precedence first, so later sources overwrite.
    const config: Record<string, string> = {
      ...sources.datastoreGlobal,
      ...sources.datastoreSelector,
      ...sources.datastorePerHost,
      ...sources.configFile,
      ...sources.environment,
    };
    const sorted = Object.fromEntries(
      Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    const text = JSON.stringify([sorted, sources]);
    if (text === this.#lastSent) return;
    this.#lastSent = text;
    this.sequencer.onConfigUpdate({ type: "ConfigUpdate", config: sorted, sourceToRawConfig: sources });
  }
}
