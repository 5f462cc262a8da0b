/**
 * Felix's flow log collector: reads the NFLOG verdicts through `tcpdump -i nflog:1,2`, conntrack's
 * counters through `conntrack -L`/`-E`, aggregates them (aggregator.ts) and, every
 * FlowLogsFlushInterval, writes the interval's records to the flow log file and the `/flows`
 * endpoint. Commands run in Felix's network namespace (or behind `spawnPrefix`, for tests).
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Logger } from "../../lib/log.js";
import type { CommandRunner } from "../dataplane/index.js";
import { NFLOG_INBOUND_GROUP, NFLOG_OUTBOUND_GROUP } from "../dataplane/rules/nflog.js";
import { FlowAggregator, type FlowLog } from "./aggregator.js";
import { parseConntrackLine, parseConntrackList } from "./conntrack.js";
import type { EndpointInfo } from "./endpoints.js";
import { NflogPcapReader } from "./nflog-pcap.js";
import { type FlowServer, serveFlows } from "./server.js";
import { type FlowFileOptions, FlowLogFile } from "./writer.js";

export interface CollectorOptions {
  host: string;
  run: CommandRunner;
  /** Put before every long-running command (e.g. `nsenter --net=…`); empty in Felix itself. */
  spawnPrefix?: string[];
  flushIntervalSeconds: number;
  file?: FlowFileOptions;
  http?: { host: string; port: number };
  lookup: (ip: string) => EndpointInfo | undefined;
  tierOf?: (id: string) => string | undefined;
  log?: Pick<Logger, "info" | "warn" | "error">;
  /** Every flushed batch, after it is written (the daemon's metrics, tests). */
  onFlush?: (records: readonly FlowLog[]) => void;
}

export class FlowLogCollector {
  readonly #agg: FlowAggregator;
  readonly #children: ChildProcess[] = [];
  #file?: FlowLogFile;
  #server?: FlowServer;
  #timer?: NodeJS.Timeout;
  #flushing?: Promise<FlowLog[]>;
  #stopped = false;
  #tcpdump?: ChildProcess;
  #lastRead = 0;
  /** NFLOG packets read so far. */
  packetsRead = 0;

  constructor(private readonly opts: CollectorOptions) {
    this.#agg = new FlowAggregator({
      host: opts.host,
      lookup: opts.lookup,
      ...(opts.tierOf ? { tierOf: opts.tierOf } : {}),
    });
  }

  get httpPort(): number | undefined {
    return this.#server?.port;
  }

  get filePath(): string | undefined {
    return this.#file?.path;
  }

  async start(): Promise<void> {
    // Per-flow byte and packet counters: conntrack only keeps them when asked to.
    const sysctl = await this.opts.run(["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_acct=1"]);
    if (sysctl.code !== 0) throw new Error(`enabling conntrack accounting failed: ${sysctl.stderr.trim()}`);
    if (this.opts.file) this.#file = new FlowLogFile(this.opts.file);
    if (this.opts.http) this.#server = await serveFlows(this.opts.http.host, this.opts.http.port);
    const reader = new NflogPcapReader();
    const tcpdump = this.#spawn([
      "tcpdump",
      "-i",
      `nflog:${NFLOG_INBOUND_GROUP},${NFLOG_OUTBOUND_GROUP}`,
      "-w",
      "-",
      "-B",
      "32768",
      "--immediate-mode",
    ]);
    this.#tcpdump = tcpdump;
    tcpdump.stdout?.on("data", (chunk: Buffer) => {
      this.#lastRead = Date.now();
      for (const pkt of reader.push(chunk)) {
        this.packetsRead++;
        this.#agg.onPacket(pkt);
      }
    });
    let partial = "";
    const events = this.#spawn(["conntrack", "-E", "-e", "DESTROY", "-o", "extended"]);
    events.stdout?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const e = parseConntrackLine(line);
        if (e) this.#agg.onConntrackEvent(e);
      }
    });
    await new Promise<void>((resolve, reject) => {
      let err = "";
      const timer = setTimeout(() => resolve(), 3_000);
      tcpdump.stderr?.on("data", (d: Buffer) => {
        err += d.toString();
        if (err.includes("listening on")) {
          clearTimeout(timer);
          resolve();
        }
      });
      tcpdump.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited (${code}): ${err.trim()}`));
      });
    });
    this.#timer = setInterval(() => void this.flush(), this.opts.flushIntervalSeconds * 1000);
    this.opts.log?.info(
      { directory: this.opts.file?.directory, port: this.httpPort },
      "Flow log collector started",
    );
  }

  #spawn(argv: string[]): ChildProcess {
    const [file, ...args] = [...(this.opts.spawnPrefix ?? []), ...argv];
    const child = spawn(file as string, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.once("exit", (code, signal) => {
      if (!this.#stopped)
        this.opts.log?.error(
          { command: argv[0], code, signal },
          "Flow log reader exited; flow logs are incomplete",
        );
    });
    this.#children.push(child);
    return child;
  }

  /** Reads conntrack's counters, then writes and publishes the interval's records. */
  flush(): Promise<FlowLog[]> {
    if (this.#flushing) return this.#flushing;
    this.#flushing = (async () => {
      try {
        await this.#drainCapture();
        const entries = [];
        for (const family of ["ipv4", "ipv6"]) {
          const out = await this.opts.run(["conntrack", "-L", "-f", family, "-o", "extended"]);
          if (out.code === 0) entries.push(...parseConntrackList(out.stdout));
        }
        this.#agg.onConntrackList(entries);
        const records = this.#agg.flush();
        this.#file?.write(records);
        this.#server?.publish(records);
        this.opts.onFlush?.(records);
        return records;
      } catch (err) {
        this.opts.log?.warn({ err: (err as Error).message }, "Flow log flush failed");
        return [];
      } finally {
        this.#flushing = undefined;
      }
    })();
    return this.#flushing;
  }

  /**
   * tcpdump writes its capture in buffer-sized blocks rather than once per packet (no `-U`);
   * SIGUSR2 makes it write what it holds, and the block has arrived once the pipe has been quiet
   * for a moment.
   */
  async #drainCapture(): Promise<void> {
    const tcpdump = this.#tcpdump;
    if (!tcpdump || tcpdump.exitCode !== null) return;
    const asked = Date.now();
    tcpdump.kill("SIGUSR2");
    const quietMs = 100;
    while (Date.now() - asked < 2_000) {
      await new Promise((r) => setTimeout(r, quietMs / 2));
      if (Date.now() - Math.max(this.#lastRead, asked) >= quietMs) return;
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
    this.#stopped = true;
    for (const c of this.#children) c.kill("SIGTERM");
    await this.#server?.close();
  }
}
