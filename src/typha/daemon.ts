/**
 * A running Typha: one datastore syncer per syncer type feeding its snapshot cache, the sync
 * server in front of the caches, health (`/liveness`, `/readiness`: one reporter per cache, ready
 * once its syncer is in sync, and the server) and Prometheus metrics, and the connection target
 * recomputed from the node count when rebalancing is on.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type KVStore, Syncer, type SyncSource } from "../datastore/index.js";
import { HealthAggregator, type HealthServer, serveHealth } from "../lib/health.js";
import type { Logger } from "../lib/log.js";
import { packageVersion } from "../lib/version.js";
import { SnapshotCache } from "./cache.js";
import { maxConnLimit, type TyphaParams } from "./config.js";
import { TyphaMetrics } from "./metrics.js";
import { type ServerTls, SyncServer } from "./server.js";

const CACHE_HEALTH_TIMEOUT_MS = 20_000;
const HEALTH_REPORT_MS = 5_000;

export interface TyphaOptions {
  params: TyphaParams;
  kv: KVStore;
  /** What each syncer type watches. */
  sources: Readonly<Record<string, readonly SyncSource[]>>;
  tls?: ServerTls;
  log: Logger;
  /** Overrides ServerPort (0 = any free port; tests and benchmarks). */
  port?: number;
}

export interface TyphaHandle {
  readonly port: number;
  readonly healthPort: number | undefined;
  readonly metricsPort: number | undefined;
  readonly server: SyncServer;
  readonly caches: ReadonlyMap<string, SnapshotCache>;
  readonly metrics: TyphaMetrics;
  readonly health: HealthAggregator;
  /** Sheds connections gradually (ShutdownTimeoutSecs), then stops. */
  shutdown(): Promise<void>;
  /** Stops at once. */
  stop(): Promise<void>;
}

async function serveMetrics(metrics: TyphaMetrics, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if ((req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    metrics.flush();
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

export async function startTypha(opts: TyphaOptions): Promise<TyphaHandle> {
  const p = opts.params;
  const log = opts.log;
  const metrics = new TyphaMetrics({ processMetrics: p.prometheusProcessMetricsEnabled });
  const health = new HealthAggregator();
  const caches = new Map<string, SnapshotCache>();
  const syncers: Syncer[] = [];
  for (const [type, sources] of Object.entries(opts.sources)) {
    const cache = new SnapshotCache(type, {
      maxBatchSize: p.snapshotCacheMaxBatchSize,
      onCrumb: (crumb) => {
        metrics.breadcrumbSeq.labels(type).set(crumb.seq);
        if (crumb.deltas.length > 0) metrics.breadcrumbSize.labels(type).observe(crumb.deltas.length);
      },
    });
    caches.set(type, cache);
    health.register(`${type}-cache`, { live: true, ready: false, timeoutMs: CACHE_HEALTH_TIMEOUT_MS });
    const syncer = new Syncer(opts.kv, sources, {
      onStatus: (status) => {
        log.info({ syncerType: type, status }, "Datastore sync status");
        cache.onStatus(status);
        health.report(`${type}-cache`, { live: true, ready: status === "InSync" });
      },
      onUpdates: (updates) => {
        const before = { ...cache.stats };
        cache.onUpdates(updates);
        metrics.updatesTotal.labels(type).inc(cache.stats.updatesTotal - before.updatesTotal);
        metrics.updatesSkipped.labels(type).inc(cache.stats.updatesSkipped - before.updatesSkipped);
        metrics.cacheSize.labels(type).set(cache.size);
      },
      onError: (source, err) =>
        log.warn({ syncerType: type, source, err: err.message }, "Datastore sync error"),
    });
    syncers.push(syncer);
  }
  health.register("SyncServer", { live: true, ready: true, timeoutMs: CACHE_HEALTH_TIMEOUT_MS });

  const server = new SyncServer({
    caches,
    metrics,
    log,
    version: packageVersion(),
    host: p.serverHost,
    port: opts.port ?? (p.serverPort || 5473),
    ...(opts.tls ? { tls: opts.tls } : {}),
    pingIntervalMs: p.serverPingIntervalSecs * 1000,
    pongTimeoutMs: p.serverPongTimeoutSecs * 1000,
    handshakeTimeoutMs: p.serverHandshakeTimeoutSecs * 1000,
    writeTimeoutMs: p.serverWriteTimeoutSecs * 1000,
    maxFallBehindMs: p.serverMaxFallBehindSecs * 1000,
    newClientGraceMs: p.serverNewClientFallBehindGracePeriod * 1000,
    maxMessageSize: p.serverMaxMessageSize,
    dropIntervalMs: p.connectionDropIntervalSecs * 1000,
    maxConns: p.maxConnectionsUpperLimit,
  });
  await server.start();
  for (const s of syncers) s.start();

  const timers: NodeJS.Timeout[] = [];
  const reportHealth = () => {
    for (const [type, cache] of caches)
      health.report(`${type}-cache`, { live: true, ready: cache.status === "InSync" });
    health.report("SyncServer", { live: true, ready: true });
  };
  timers.push(setInterval(reportHealth, HEALTH_REPORT_MS));

  if (p.connectionRebalancingMode === "static") {
    const limits = { lower: p.maxConnectionsLowerLimit, upper: p.maxConnectionsUpperLimit };
    const recompute = () => {
      // One connection per syncer type per node; the felix cache's Node count is the node count.
      const felix = caches.get("felix");
      const nodes = felix ? felix.countSource("Node") : 0;
      server.setMaxConns(maxConnLimit(limits, p.replicas, nodes, caches.size));
    };
    recompute();
    timers.push(setInterval(recompute, p.k8sServicePollIntervalSecs * 1000));
  }

  const closers: Array<() => Promise<void>> = [];
  let healthPort: number | undefined;
  let metricsPort: number | undefined;
  if (p.healthEnabled) {
    const hs: HealthServer = await serveHealth(health, p.healthHost, p.healthPort);
    healthPort = hs.port;
    closers.push(() => hs.close());
    log.info({ host: p.healthHost, port: hs.port }, "Health endpoint listening");
  }
  if (p.prometheusMetricsEnabled) {
    const ms = await serveMetrics(metrics, p.prometheusMetricsHost, p.prometheusMetricsPort);
    metricsPort = (ms.address() as AddressInfo).port;
    closers.push(() => new Promise<void>((resolve) => ms.close(() => resolve())));
    log.info({ port: metricsPort }, "Prometheus metrics listening");
  }

  let stopped = false;
  const finish = async (serverStop: () => Promise<void>) => {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clearInterval(t);
    await serverStop();
    await Promise.all(syncers.map((s) => s.stop().catch(() => undefined)));
    await Promise.all(closers.map((c) => c()));
    metrics.close();
  };
  return {
    port: server.port,
    healthPort,
    metricsPort,
    server,
    caches,
    metrics,
    health,
    shutdown: () =>
      finish(() =>
        server.shutdown(p.shutdownTimeoutSecs * 1000, p.shutdownConnectionDropIntervalMaxSecs * 1000),
      ),
    stop: () => finish(() => server.close()),
  };
}
