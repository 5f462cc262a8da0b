/**
 * The Felix agent: datastore syncer → calculation graph → dataplane, with health, metrics and
 * logging. Updates are coalesced into batches; applies are serialised, retried with backoff when
 * they fail, and repeated periodically so drift in the kernel is repaired.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { hostname as osHostname } from "node:os";
import {
  felixSources,
  openDatastore,
  type ResourceStore,
  Syncer,
  type SyncStatus,
  type SyncUpdate,
} from "../../datastore/index.js";
import { HealthAggregator, type HealthServer, serveHealth } from "../../lib/health.js";
import { createLogger, type Logger } from "../../lib/log.js";
import { type TyphaClientSettings, TyphaSyncClient, typhaClientSettings } from "../../typha/index.js";
import {
  CalcGraph,
  type ConfigUpdate,
  configFromEnvironment,
  configFromFile,
  type ToDataplane,
} from "../calc/index.js";
import { type CommandRunner, InterfaceMonitor, localRunner } from "../dataplane/index.js";
import { ownerId } from "../dataplane/rules/nflog.js";
import { EndpointLookup, FlowLogCollector } from "../flowlogs/index.js";
import { type DaemonDataplane, type DataplaneFactory, policyDataplaneFactory } from "./dataplane.js";
import { felixDatastoreConfig } from "./datastore-config.js";
import { FelixMetrics } from "./metrics.js";
import { type FelixParams, parseFelixParams } from "./params.js";

export const DEFAULT_CONFIG_FILE = "/etc/calico/felix.cfg";

/** Calico's Felix exits with 129 when it must restart to pick up new configuration. */
export const EXIT_RESTART = 129;

export interface FelixOptions {
  env?: NodeJS.ProcessEnv;
  /** INI config file; a missing file is fine (as in Calico). */
  configFile?: string;
  hostname?: string;
  logger?: Logger;
  /** How kernel commands run (tests point this into a namespace). */
  run?: CommandRunner;
  dataplaneFactory?: DataplaneFactory;
}

export interface FelixExit {
  code: number;
  reason: string;
}

export interface FelixHandle {
  readonly hostname: string;
  readonly health: HealthAggregator;
  readonly metrics: FelixMetrics;
  live(): boolean;
  ready(): boolean;
  /** Resolves when Felix stops on its own (restart needed, fatal error) or after stop(). */
  readonly exited: Promise<FelixExit>;
  /** Stops watching and serving; leaves the kernel as it is so traffic keeps flowing. */
  stop(): Promise<void>;
}

const REPORT_INTERVAL_MS = 10_000;
const MAX_BACKOFF_MS = 10_000;

/** Local config from the environment and the config file, environment first. */
export function localFelixConfig(
  env: NodeJS.ProcessEnv,
  configFile: string,
): {
  environment: Record<string, string>;
  configFile: Record<string, string>;
} {
  let text = "";
  try {
    text = readFileSync(configFile, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  return { environment: configFromEnvironment(env), configFile: configFromFile(text) };
}

function felixHostname(
  local: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv,
  override?: string,
): string {
  return override ?? local.FelixHostname ?? env.NODENAME ?? osHostname().toLowerCase().trim();
}

async function serveMetrics(metrics: FelixMetrics, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if ((req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host || undefined, () => resolve());
  });
  return server;
}

/** Starts Felix. Rejects on bad local configuration (naming the parameter) before doing anything. */
export async function startFelix(opts: FelixOptions = {}): Promise<FelixHandle> {
  const env = opts.env ?? process.env;
  const local = localFelixConfig(env, opts.configFile ?? DEFAULT_CONFIG_FILE);
  const localMerged = { ...local.configFile, ...local.environment };
  const params = parseFelixParams(localMerged);
  // With Typha, Felix never talks to etcd itself.
  const typha = typhaClientSettings(localMerged);
  const upstream = typha ? { typha } : { datastore: felixDatastoreConfig(localMerged, env) };
  const hostname = felixHostname(localMerged, env, opts.hostname);
  const log =
    opts.logger ??
    createLogger({
      name: "felix",
      screen: params.logSeverityScreen,
      file: params.logSeverityFile,
      filePath: params.logFilePath,
      sys: params.logSeveritySys,
    });
  const felix = new Felix(hostname, local, params, log, opts);
  await felix.start(upstream);
  return felix.handle();
}

class Felix {
  readonly health = new HealthAggregator();
  readonly metrics: FelixMetrics;
  readonly #graph: CalcGraph;
  readonly #run: CommandRunner;
  readonly #factory: DataplaneFactory;
  #store?: ResourceStore;
  #syncer?: { start(): void; stop(): Promise<void> };
  #dataplane?: DaemonDataplane;
  #monitor?: InterfaceMonitor;
  #flows?: FlowLogCollector;
  readonly #endpoints = new EndpointLookup();
  /** Active policies' tiers by their flow-log id (`np/ns/name`), for the flow log's policy field. */
  readonly #policyTiers = new Map<string, string>();
  #config?: Record<string, string>;
  #inSync = false;
  #firstApplyDone = false;
  #pumping = false;
  #again = false;
  #scheduled?: NodeJS.Immediate;
  #retry?: NodeJS.Timeout;
  #deadline?: NodeJS.Timeout;
  #backoffMs = 0;
  #timers: NodeJS.Timeout[] = [];
  #servers: Array<{ close(): Promise<void> }> = [];
  #stopped = false;
  #exitStatus: FelixExit = { code: 0, reason: "stopped" };
  #exit!: (e: FelixExit) => void;
  readonly exited = new Promise<FelixExit>((resolve) => {
    this.#exit = resolve;
  });
  readonly #started = Date.now();
  readonly #clusterKeys = new Map<string, Set<string>>();

  constructor(
    readonly hostname: string,
    local: { environment: Record<string, string>; configFile: Record<string, string> },
    private readonly params: FelixParams,
    private readonly log: Logger,
    opts: FelixOptions,
  ) {
    this.metrics = new FelixMetrics(hostname);
    this.#graph = new CalcGraph({
      hostname,
      local,
      onInvalid: (kind, key, err) =>
        this.log.warn({ kind, key, err: err.message }, "Skipping invalid datastore value"),
    });
    this.#run = this.metrics.instrument(opts.run ?? localRunner());
    this.#factory = opts.dataplaneFactory ?? policyDataplaneFactory;
    this.health.register("FelixStartup", { live: true, ready: false, timeoutMs: 0 });
    this.health.register("CalculationGraph", { live: true, ready: false, timeoutMs: 30_000 });
    this.health.register("InternalDataplaneMainLoop", {
      live: true,
      ready: false,
      timeoutMs: params.dataplaneWatchdogTimeout * 1000,
    });
  }

  async start(
    upstream: { datastore: Parameters<typeof openDatastore>[0] } | { typha: TyphaClientSettings },
  ): Promise<void> {
    const p = this.params;
    this.log.info({ hostname: this.hostname }, "Felix starting up");
    if (p.healthEnabled) {
      const server: HealthServer = await serveHealth(this.health, p.healthHost, p.healthPort);
      this.#servers.push(server);
      this.log.info({ host: p.healthHost, port: server.port }, "Health endpoint listening");
    }
    if (p.prometheusMetricsEnabled) {
      const server = await serveMetrics(this.metrics, p.prometheusMetricsHost, p.prometheusMetricsPort);
      this.#servers.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
    }
    if (p.flowLogs.enabled) await this.#startFlowLogs();
    const callbacks = {
      onStatus: (s: SyncStatus) => this.#onStatus(s),
      onUpdates: (u: SyncUpdate[]) => this.#onUpdates(u),
      // Undecodable values arrive here too, their key in the message: logged, then skipped.
      onError: (source: string, error: Error) =>
        this.log.warn({ source, err: error.message }, "Datastore sync error"),
    };
    if ("typha" in upstream) {
      this.log.info({ addresses: upstream.typha.addresses }, "Using Typha for datastore updates");
      this.#syncer = new TyphaSyncClient(
        {
          ...upstream.typha,
          syncerType: "felix",
          hostname: this.hostname,
          info: "felix",
          log: this.log.child({ component: "typha-client" }),
          onFatal: (err) => this.#finish({ code: 1, reason: err.message }),
        },
        callbacks,
      );
    } else {
      this.#store = await openDatastore(upstream.datastore);
      this.#syncer = new Syncer(this.#store.kv, felixSources(), callbacks);
    }
    this.#syncer.start();
    this.health.report("FelixStartup", { live: true, ready: true });
    this.#timers.push(setInterval(() => this.#reportHealth(), REPORT_INTERVAL_MS));
    this.#periodic(p.policyRefreshInterval, "policy");
    this.#periodic(p.routeRefreshInterval, "route");
  }

  async #startFlowLogs(): Promise<void> {
    const f = this.params.flowLogs;
    this.#flows = new FlowLogCollector({
      host: this.hostname,
      run: this.#run,
      flushIntervalSeconds: f.flushInterval,
      ...(f.fileEnabled
        ? {
            file: {
              directory: f.fileDirectory,
              maxFiles: f.fileMaxFiles,
              maxFileSizeMB: f.fileMaxFileSizeMB,
            },
          }
        : {}),
      ...(f.httpEnabled ? { http: { host: f.httpHost, port: f.httpPort } } : {}),
      lookup: (ip) => this.#endpoints.lookup(ip),
      tierOf: (id) => this.#policyTiers.get(id),
      log: this.log.child({ component: "flowlogs" }),
      onFlush: (records) => this.metrics.flowLogsFlushed(records),
    });
    await this.#flows.start();
    this.#servers.push({ close: () => this.#flows?.stop() ?? Promise.resolve() });
  }

  #periodic(seconds: number, what: string): void {
    if (seconds <= 0) return;
    this.#timers.push(
      setInterval(() => {
        if (!this.#dataplane) return;
        this.log.debug({ what }, "Periodic dataplane resync");
        this.#dataplane.resync();
        this.#kick();
      }, seconds * 1000),
    );
  }

  #reportHealth(): void {
    this.health.report("CalculationGraph", { live: true, ready: this.#inSync });
    this.health.report("InternalDataplaneMainLoop", {
      live: true,
      ready: this.#firstApplyDone && this.#backoffMs === 0,
    });
  }

  #onStatus(status: SyncStatus): void {
    this.log.info({ status }, "Datastore sync status");
    this.metrics.setResyncState(status);
    this.#graph.onStatus(status);
    if (status === "InSync") this.#inSync = true;
    this.#reportHealth();
    this.#kick();
  }

  #onUpdates(updates: SyncUpdate[]): void {
    const end = this.metrics.updateTime.startTimer();
    for (const u of updates) {
      this.#graph.onUpdate({ kind: u.source, key: u.key, value: u.value });
      if (this.#flows && u.source === "WorkloadEndpoint") this.#endpoints.onWorkloadEndpoint(u.key, u.value);
      this.metrics.updatesProcessed.labels(u.source).inc();
      this.#count(u);
    }
    end();
    this.#kick();
  }

  #count(u: SyncUpdate): void {
    const kind = u.source === "NetworkPolicy" || u.source === "GlobalNetworkPolicy" ? "Policy" : u.source;
    const gauge = this.metrics.clusterCounts[kind];
    if (!gauge) return;
    const keys = this.#clusterKeys.get(kind) ?? new Set<string>();
    this.#clusterKeys.set(kind, keys);
    if (u.type === "deleted") keys.delete(u.key);
    else keys.add(u.key);
    gauge.set(keys.size);
  }

  /** Coalesces everything that arrives in one turn of the event loop into one batch. */
  #kick(): void {
    if (this.#stopped || this.#scheduled) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      const batch = this.#graph.flush();
      this.metrics.outputEvents.inc(batch.length);
      for (const msg of batch) this.#deliver(msg);
      const stats = this.#graph.stats;
      this.metrics.activeLocalEndpoints.set(stats.localEndpoints);
      this.metrics.activeLocalPolicies.set(stats.activePolicies);
      this.metrics.activeLocalSelectors.set(stats.activeIPSets);
      if (this.#dataplane?.needsApply && !this.#retry && !this.#stopped) await this.#apply(this.#dataplane);
    } catch (err) {
      this.log.fatal({ err: (err as Error).message }, "Felix main loop failed");
      this.#finish({ code: 1, reason: (err as Error).message });
    } finally {
      this.#pumping = false;
      if (this.#again) {
        this.#again = false;
        this.#kick();
      }
    }
  }

  #deliver(msg: ToDataplane): void {
    this.metrics.dataplaneMessages.labels(msg.type).inc();
    if (msg.type === "ConfigUpdate") {
      this.#onConfig(msg);
      return;
    }
    if (msg.type === "DatastoreNotReady") {
      this.log.warn("Datastore is not ready (ClusterInformation datastoreReady=false); restarting");
      this.#finish({ code: EXIT_RESTART, reason: "datastore not ready" });
      return;
    }
    if (msg.type === "InSync") this.log.info("Calculation graph in sync with the datastore");
    if (this.#flows && (msg.type === "ActivePolicyUpdate" || msg.type === "ActivePolicyRemove")) {
      const kind = msg.id.kind === "GlobalNetworkPolicy" ? "gnp" : "np";
      const id = ownerId(kind, msg.id.namespace, msg.id.name);
      if (msg.type === "ActivePolicyUpdate") this.#policyTiers.set(id, msg.id.tier);
      else this.#policyTiers.delete(id);
    }
    this.#dataplane?.onUpdate(msg);
  }

  #onConfig(msg: ConfigUpdate): void {
    if (!this.#config) {
      this.#config = msg.config;
      this.log.info({ config: msg.config }, "Effective configuration loaded");
      this.#dataplane = this.#factory(msg.config, this.#run, { hostname: this.hostname, log: this.log });
      const prefixes = (msg.config.InterfacePrefix ?? "cali").split(",").map((p) => p.trim());
      this.#monitor = new InterfaceMonitor(prefixes, (iface) => this.#onInterfaceChange(iface));
      this.#monitor.start();
      return;
    }
    if (JSON.stringify(sorted(msg.config)) !== JSON.stringify(sorted(this.#config))) {
      this.log.warn("Felix configuration changed; restarting to apply it");
      this.#finish({ code: EXIT_RESTART, reason: "config changed" });
    }
  }

  /** A workload interface appeared or changed: retry now rather than at the end of a backoff. */
  #onInterfaceChange(iface: string): void {
    this.log.debug({ iface }, "Workload interface changed");
    this.#dataplane?.interfacesChanged();
    if (this.#retry) {
      clearTimeout(this.#retry);
      this.#retry = undefined;
    }
    this.#kick();
  }

  async #apply(dp: DaemonDataplane): Promise<void> {
    const end = this.metrics.applyTime.startTimer();
    try {
      await dp.apply();
      this.log.debug({ seconds: end() }, "Applied dataplane changes");
      this.#backoffMs = 0;
      if (!this.#firstApplyDone) {
        this.#firstApplyDone = true;
        this.metrics.initialResyncTime.set((Date.now() - this.#started) / 1000);
        this.log.info("Dataplane in sync");
      }
      this.#armDeadline(dp.applyDeadline);
    } catch (err) {
      this.metrics.dataplaneFailures.inc();
      this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs === 0 ? 100 : this.#backoffMs * 2);
      this.log.error(
        { err: (err as Error).message, retryMs: this.#backoffMs },
        "Failed to apply dataplane changes",
      );
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#kick();
      }, this.#backoffMs);
    }
    this.#reportHealth();
  }

  #armDeadline(deadline: number | undefined): void {
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if (deadline === undefined) return;
    this.#deadline = setTimeout(() => this.#kick(), Math.max(0, deadline - Date.now()));
  }

  #finish(exit: FelixExit): void {
    if (this.#stopped) return;
    this.#exitStatus = exit;
    void this.stop();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    if (this.#scheduled) clearImmediate(this.#scheduled);
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#monitor?.stop();
    await this.#syncer?.stop().catch(() => undefined);
    await this.#store?.close().catch(() => undefined);
    await Promise.all(this.#servers.map((s) => s.close()));
    this.#dataplane?.close?.();
    this.#exit(this.#exitStatus);
  }

  handle(): FelixHandle {
    return {
      hostname: this.hostname,
      health: this.health,
      metrics: this.metrics,
      live: () => this.health.live,
      ready: () => this.health.ready,
      exited: this.exited,
      stop: () => this.stop(),
    };
  }
}

function sorted(config: Record<string, string>): Array<[string, string]> {
  return Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
