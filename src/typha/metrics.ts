/**
 * Typha's Prometheus metrics under Calico's `typha_*` names. Each Typha has its own registry, so
 * several can run in one process (tests, benchmarks).
 */
import client from "prom-client";

type Syncer = "syncer";

export class TyphaMetrics {
  readonly registry = new client.Registry();
  readonly connectionsAccepted: client.Counter;
  readonly connectionsDropped: client.Counter;
  readonly connectionsActive: client.Gauge;
  readonly connectionsStreaming: client.Gauge<Syncer>;
  readonly graceUsed: client.Counter<Syncer>;
  readonly breadcrumbSeq: client.Gauge<Syncer>;
  readonly breadcrumbBlock: client.Counter<Syncer>;
  readonly breadcrumbNonBlock: client.Counter<Syncer>;
  readonly breadcrumbSize: client.Summary<Syncer>;
  readonly updatesTotal: client.Counter<Syncer>;
  readonly updatesSkipped: client.Counter<Syncer>;
  readonly cacheSize: client.Gauge<Syncer>;
  readonly snapshotsGenerated: client.Counter<Syncer>;
  readonly snapshotsReused: client.Counter<Syncer>;
  readonly snapshotRawBytes: client.Gauge<Syncer>;
  readonly snapshotCompressedBytes: client.Gauge<Syncer>;
  readonly clientLatency: client.Summary<Syncer>;
  readonly snapshotSendSecs: client.Summary<Syncer>;
  readonly writeLatency: client.Summary<Syncer>;
  readonly nextBreadcrumbLatency: client.Summary<Syncer>;
  readonly pingLatency: client.Summary<Syncer>;
  readonly kvsPerMsg: client.Summary<Syncer>;

  /**
   * Per-message summary observations, queued: a summary observation costs microseconds, and on
   * the delivery path that is paid once per client per update. They are folded in off that path.
   */
  #queue: Array<[client.Summary<Syncer>, string, number]> = [];
  readonly #timer: NodeJS.Timeout;

  observe(summary: client.Summary<Syncer>, syncer: string, value: number): void {
    this.#queue.push([summary, syncer, value]);
    if (this.#queue.length >= 100_000) this.flush();
  }

  flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const [summary, syncer, value] of queue) summary.labels(syncer).observe(value);
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }

  constructor(opts: { processMetrics?: boolean } = {}) {
    this.#timer = setInterval(() => this.flush(), 1_000);
    this.#timer.unref();
    const registers = [this.registry];
    if (opts.processMetrics ?? true) client.collectDefaultMetrics({ register: this.registry });
    const counter = (name: string, help: string) => new client.Counter({ name, help, registers });
    const perSyncer = { labelNames: ["syncer"] as const, registers };
    const sCounter = (name: string, help: string) => new client.Counter({ name, help, ...perSyncer });
    const sGauge = (name: string, help: string) => new client.Gauge({ name, help, ...perSyncer });
    const sSummary = (name: string, help: string) =>
      new client.Summary({
        name,
        help,
        ...perSyncer,
        percentiles: [0.5, 0.9, 0.99],
        maxAgeSeconds: 600,
        ageBuckets: 5,
      });
    this.connectionsAccepted = counter(
      "typha_connections_accepted",
      "Total number of connections accepted over time.",
    );
    this.connectionsDropped = counter(
      "typha_connections_dropped",
      "Total number of connections dropped due to rebalancing.",
    );
    this.connectionsActive = new client.Gauge({
      name: "typha_connections_active",
      help: "Number of open client connections (including handshaking).",
      registers,
    });
    this.connectionsStreaming = sGauge(
      "typha_connections_streaming",
      "Number of client connections past the handshake.",
    );
    this.graceUsed = sCounter(
      "typha_connections_grace_used",
      "Clients that fell behind during their post-snapshot grace period.",
    );
    this.breadcrumbSeq = sGauge("typha_breadcrumb_seq_number", "Current (server-local) sequence number.");
    this.breadcrumbBlock = sCounter(
      "typha_breadcrumb_block",
      "Breadcrumb reads that had to wait for the next one.",
    );
    this.breadcrumbNonBlock = sCounter("typha_breadcrumb_non_block", "Breadcrumb reads that did not wait.");
    this.breadcrumbSize = sSummary("typha_breadcrumb_size", "Number of KVs recorded in each breadcrumb.");
    this.updatesTotal = sCounter(
      "typha_updates_total",
      "Total number of updates received from the datastore.",
    );
    this.updatesSkipped = sCounter("typha_updates_skipped", "Updates skipped because they were no-ops.");
    this.cacheSize = sGauge("typha_cache_size", "Number of KVs in the snapshot cache.");
    this.snapshotsGenerated = sCounter("typha_snapshots_generated", "Binary snapshots generated.");
    this.snapshotsReused = sCounter("typha_snapshots_reused", "Binary snapshots reused by a later client.");
    this.snapshotRawBytes = sGauge(
      "typha_snapshot_raw_bytes",
      "Size of the last snapshot before compression.",
    );
    this.snapshotCompressedBytes = sGauge(
      "typha_snapshot_compressed_bytes",
      "Size of the last snapshot as sent (compressed where it paid).",
    );
    this.clientLatency = sSummary("typha_client_latency_secs", "Age of the data each client is being sent.");
    this.snapshotSendSecs = sSummary(
      "typha_client_snapshot_send_secs",
      "Time to send each client its snapshot.",
    );
    this.writeLatency = sSummary(
      "typha_client_write_latency_secs",
      "Time to write each message to a client.",
    );
    this.nextBreadcrumbLatency = sSummary(
      "typha_next_breadcrumb_latency_secs",
      "Time a client waited for the next breadcrumb.",
    );
    this.pingLatency = sSummary("typha_ping_latency", "Round trip from ping to pong.");
    this.kvsPerMsg = sSummary("typha_kvs_per_msg", "Number of KVs sent in each message.");
  }
}
