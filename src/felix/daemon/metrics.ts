/**
 * Felix's Prometheus metrics under Calico's names, so dashboards built for Calico work. Each Felix
 * instance has its own registry (several can run in one process in tests and in calico-node).
 */
import client from "prom-client";
import type { CommandRunner } from "../dataplane/index.js";

const RESYNC_STATE = { WaitForDatastore: 1, ResyncInProgress: 2, InSync: 3 } as const;

export class FelixMetrics {
  readonly registry = new client.Registry();
  readonly resyncState: client.Gauge;
  readonly resyncsStarted: client.Counter;
  readonly updatesProcessed: client.Counter<"type">;
  readonly updateTime: client.Summary;
  readonly outputEvents: client.Counter;
  readonly activeLocalEndpoints: client.Gauge;
  readonly activeLocalPolicies: client.Gauge;
  readonly activeLocalSelectors: client.Gauge;
  readonly clusterCounts: Record<string, client.Gauge>;
  readonly dataplaneMessages: client.Counter<"type">;
  readonly applyTime: client.Summary;
  readonly initialResyncTime: client.Gauge;
  readonly dataplaneFailures: client.Counter;
  readonly execTime: client.Summary;
  readonly commandCalls: Record<string, client.Counter>;
  readonly commandErrors: Record<string, client.Counter>;
  readonly flowLogsWritten: client.Counter<"action">;

  constructor(hostname: string) {
    const r = [this.registry];
    client.collectDefaultMetrics({ register: this.registry });
    new client.Gauge({
      name: "felix_host",
      help: "Always 1; carries this host's name.",
      labelNames: ["host"],
      registers: r,
    })
      .labels(hostname)
      .set(1);
    this.resyncState = new client.Gauge({
      name: "felix_resync_state",
      help: "Datastore sync state: 1 waiting for the datastore, 2 resyncing, 3 in sync.",
      registers: r,
    });
    this.resyncsStarted = new client.Counter({
      name: "felix_resyncs_started",
      help: "Number of times Felix started resyncing with the datastore.",
      registers: r,
    });
    this.updatesProcessed = new client.Counter({
      name: "felix_calc_graph_updates_processed",
      help: "Datastore updates processed by the calculation graph, by resource type.",
      labelNames: ["type"],
      registers: r,
    });
    this.updateTime = new client.Summary({
      name: "felix_calc_graph_update_time_seconds",
      help: "Seconds to process a batch of datastore updates in the calculation graph.",
      registers: r,
    });
    this.outputEvents = new client.Counter({
      name: "felix_calc_graph_output_events",
      help: "Messages the calculation graph sent to the dataplane.",
      registers: r,
    });
    this.activeLocalEndpoints = new client.Gauge({
      name: "felix_active_local_endpoints",
      help: "Active local endpoints.",
      registers: r,
    });
    this.activeLocalPolicies = new client.Gauge({
      name: "felix_active_local_policies",
      help: "Policies that apply to some local endpoint.",
      registers: r,
    });
    this.activeLocalSelectors = new client.Gauge({
      name: "felix_active_local_selectors",
      help: "Active IP sets derived from selectors.",
      registers: r,
    });
    this.clusterCounts = {};
    for (const [kind, name] of [
      ["Node", "felix_cluster_num_hosts"],
      ["WorkloadEndpoint", "felix_cluster_num_workload_endpoints"],
      ["HostEndpoint", "felix_cluster_num_host_endpoints"],
      ["Tier", "felix_cluster_num_tiers"],
      ["Policy", "felix_cluster_num_policies"],
      ["Profile", "felix_cluster_num_profiles"],
    ] as const)
      this.clusterCounts[kind] = new client.Gauge({
        name,
        help: `Cluster-wide count (${kind}).`,
        registers: r,
      });
    this.dataplaneMessages = new client.Counter({
      name: "felix_int_dataplane_messages",
      help: "Messages received by the dataplane, by type.",
      labelNames: ["type"],
      registers: r,
    });
    this.applyTime = new client.Summary({
      name: "felix_int_dataplane_apply_time_seconds",
      help: "Seconds to apply a batch of changes to the kernel.",
      registers: r,
    });
    this.initialResyncTime = new client.Gauge({
      name: "felix_int_dataplane_initial_resync_time_seconds",
      help: "Seconds from start to the first complete dataplane apply.",
      registers: r,
    });
    this.dataplaneFailures = new client.Counter({
      name: "felix_int_dataplane_failures",
      help: "Dataplane applies that failed (and will be retried).",
      registers: r,
    });
    this.execTime = new client.Summary({
      name: "felix_exec_time_micros",
      help: "Microseconds taken by commands Felix runs.",
      registers: r,
    });
    this.flowLogsWritten = new client.Counter({
      name: "felix_collector_flow_logs_written",
      help: "Flow log records written, by action.",
      labelNames: ["action"],
      registers: r,
    });
    this.commandCalls = {};
    this.commandErrors = {};
    for (const [cmd, prefix] of [
      ["nft", "felix_nft"],
      ["iptables", "felix_iptables_restore"],
      ["ipset", "felix_ipset"],
    ] as const) {
      this.commandCalls[cmd] = new client.Counter({
        name: `${prefix}_calls`,
        help: `${cmd} invocations.`,
        registers: r,
      });
      this.commandErrors[cmd] = new client.Counter({
        name: `${prefix}_errors`,
        help: `${cmd} invocations that failed.`,
        registers: r,
      });
    }
  }

  setResyncState(status: keyof typeof RESYNC_STATE): void {
    this.resyncState.set(RESYNC_STATE[status]);
    if (status === "ResyncInProgress") this.resyncsStarted.inc();
  }

  flowLogsFlushed(records: ReadonlyArray<{ action: string }>): void {
    for (const rec of records) this.flowLogsWritten.labels(rec.action).inc();
  }

  /** Wraps a runner so every command is timed and nft/iptables/ipset calls are counted. */
  instrument(run: CommandRunner): CommandRunner {
    const instrumented: CommandRunner = async (argv, input) => {
      const start = process.hrtime.bigint();
      const result = await run(argv, input);
      this.execTime.observe(Number(process.hrtime.bigint() - start) / 1000);
      const program = argv.find((a) => /^(nft|iptables|ip6tables|ipset)/.test(a.split("/").pop() ?? ""));
      const name = program?.split("/").pop() ?? "";
      const key = name.startsWith("nft")
        ? "nft"
        : name.startsWith("ipset")
          ? "ipset"
          : name
            ? "iptables"
            : "";
      if (key) {
        this.commandCalls[key]?.inc();
        if (result.code !== 0) this.commandErrors[key]?.inc();
      }
      return result;
    };
    // Long-lived sessions (nft -i) are started as the wrapped runner would start them.
    if (run.start) instrumented.start = run.start;
    return instrumented;
  }
}
