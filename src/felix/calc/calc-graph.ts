/**
 * Felix's calculation graph, wired: datastore updates in, dataplane messages out. Pure and
 * synchronous — no I/O, no timers; the caller decides when to flush (Felix throttles flushes
 * to at most 100/s) and how to hand the batch to the dataplane.
 *
 *   UpdateProcessor → Dispatcher ─┬─ IPSetIndex (all endpoints, network sets, profile labels)
 *                                 ├─ LocalEndpointFilter → PolicyResolver, ActiveRulesCalculator, RouteResolver
 *                                 ├─ PolicyResolver, ActiveRulesCalculator → RuleScanner → IPSetIndex
 *                                 ├─ RouteResolver, Passthru, ConfigBatcher
 *                                 └─ all of them → EventSequencer → flush()
 */
import { ActiveRulesCalculator } from "./active-rules.js";
import { ConfigBatcher, type LocalConfig } from "./config-batcher.js";
import { Dispatcher, type EndpointUpdate, LocalEndpointFilter } from "./dispatcher.js";
import { EventSequencer } from "./event-sequencer.js";
import { type Contributor, IPSetIndex } from "./ipset-index.js";
import type { ToDataplane } from "./messages.js";
import type { ModelEndpoint, ModelNetworkSet } from "./model/types.js";
import { type CalcUpdate, type InvalidValueHook, UpdateProcessor } from "./model/update-processor.js";
import { Passthru } from "./passthru.js";
import { PolicyResolver } from "./policy-resolver.js";
import { RouteResolver } from "./route-resolver.js";
import { RuleScanner } from "./rule-scanner.js";

export type SyncStatus = "WaitForDatastore" | "ResyncInProgress" | "InSync";

export interface CalcGraphOptions {
  /** This host's name (Felix's `FelixHostname`): selects local endpoints and per-host config. */
  hostname: string;
  local?: LocalConfig;
  /**
   * How many IP sets no rule uses any more stay maintained, so a policy that comes back (a local
   * pod's labels flapping) does not re-scan every endpoint; 0 drops them at once. Outputs are
   * the same either way. Default `DEFAULT_WARM_IP_SETS`.
   */
  warmIPSets?: number;
  /** Told about each datastore value that fails validation (and is treated as deleted). */
  onInvalid?: InvalidValueHook;
}

export interface CalcGraphStats {
  localEndpoints: number;
  activePolicies: number;
  activeIPSets: number;
}

function hostCidr(ip: string): string {
  return ip.includes(":") ? `${ip}/128` : `${ip}/32`;
}

function endpointContributor(ep: ModelEndpoint): Contributor {
  if (ep.kind === "wep") {
    return {
      nets: [...ep.ipv4Nets, ...ep.ipv6Nets],
      ports: ep.ports,
      labels: ep.labels,
      parents: ep.profileIds,
    };
  }
  return {
    nets: [...ep.expectedIpv4, ...ep.expectedIpv6].map(hostCidr),
    ports: ep.ports,
    labels: ep.labels,
    parents: ep.profileIds,
  };
}

function networkSetContributor(ns: ModelNetworkSet): Contributor {
  return { nets: ns.nets, ports: [], labels: ns.labels, parents: ns.profileIds };
}

export class CalcGraph {
  readonly #processor: UpdateProcessor;
  readonly #dispatcher = new Dispatcher();
  readonly #sequencer = new EventSequencer();
  readonly #ipSets: IPSetIndex;
  readonly #scanner: RuleScanner;
  readonly #activeRules: ActiveRulesCalculator;
  readonly #resolver: PolicyResolver;
  readonly #routes: RouteResolver;
  readonly #passthru: Passthru;
  readonly #config: ConfigBatcher;
  #inSync = false;
  #inSyncSent = false;

  constructor(options: CalcGraphOptions) {
    this.#processor = new UpdateProcessor(options.onInvalid);
    const seq = this.#sequencer;
    this.#ipSets = new IPSetIndex(seq, options.warmIPSets);
    seq.setMembersSource((id) => this.#ipSets.members(id));
    this.#scanner = new RuleScanner(this.#ipSets, seq);
    this.#resolver = new PolicyResolver(seq);
    this.#activeRules = new ActiveRulesCalculator(this.#scanner, this.#resolver);
    this.#routes = new RouteResolver(options.hostname, seq);
    this.#passthru = new Passthru(seq);
    this.#config = new ConfigBatcher(options.hostname, options.local ?? {}, seq);

    const d = this.#dispatcher;
    const local = new LocalEndpointFilter(options.hostname);
    // The resolver must know an endpoint or policy before it hears that one matches the other.
    local.on(this.#resolver.onEndpoint);
    local.on(this.#activeRules.onEndpoint);
    local.on(this.#routes.onEndpoint);
    d.on("endpoint", (u) => this.#onAnyEndpoint(u));
    d.on("endpoint", local.onEndpoint);
    d.on("netset", (u) => {
      if (u.value) this.#ipSets.updateContributor(u.key, networkSetContributor(u.value));
      else this.#ipSets.deleteContributor(u.key);
    });
    d.on("profile", (u) => {
      if (u.value) this.#ipSets.updateParentLabels(u.key, u.value.labels);
      else this.#ipSets.deleteParentLabels(u.key);
    });
    d.on("profile", this.#activeRules.onProfile);
    d.on("policy", this.#resolver.onPolicy);
    d.on("policy", this.#activeRules.onPolicy);
    d.on("tier", this.#resolver.onTier);
    d.on("pool", this.#routes.onPool);
    d.on("pool", this.#passthru.onPool);
    d.on("block", this.#routes.onBlock);
    d.on("node", this.#routes.onNode);
    d.on("node", this.#passthru.onNode);
    d.on("node", this.#config.onNode);
    d.on("felixConfig", this.#config.onFelixConfig);
    d.on("clusterInfo", this.#config.onClusterInfo);
  }

  #onAnyEndpoint(u: EndpointUpdate): void {
    if (u.value) this.#ipSets.updateContributor(u.key, endpointContributor(u.value));
    else this.#ipSets.deleteContributor(u.key);
  }

  onUpdate(update: CalcUpdate): void {
    for (const m of this.#processor.process(update)) this.#dispatcher.dispatch(m);
  }

  onUpdates(updates: Iterable<CalcUpdate>): void {
    for (const u of updates) this.onUpdate(u);
  }

  /** Only the first `InSync` matters; later resyncs need no second `InSync` message. */
  onStatus(status: SyncStatus): void {
    if (status !== "InSync" || this.#inSync) return;
    this.#inSync = true;
    this.#resolver.onInSync();
    this.#config.onInSync();
  }

  /**
   * Everything that changed since the last flush, in dependency order. Empty until the
   * datastore is first in sync; the first non-empty batch is the full state, ending in `InSync`.
   */
  flush(): ToDataplane[] {
    if (!this.#inSync) return [];
    this.#config.flush();
    this.#resolver.flush();
    this.#routes.flush();
    this.#passthru.flush();
    const out = this.#sequencer.flush();
    if (!this.#inSyncSent) {
      this.#inSyncSent = true;
      out.push({ type: "InSync" });
    }
    return out;
  }

  get stats(): CalcGraphStats {
    return {
      localEndpoints: this.#resolver.localEndpointCount,
      activePolicies: this.#activeRules.activePolicyCount,
      activeIPSets: this.#scanner.activeIPSetCount,
    };
  }
}
