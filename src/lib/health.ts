/**
 * Health reporting as Calico's health aggregator does it: named reporters say whether they are
 * live and ready; a reporter with a timeout that has not reported in time counts as neither. The
 * HTTP server answers `/liveness` and `/readiness` with 200 and a status table when good, 503 when
 * not, 404 for anything else.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReporterOptions {
  live: boolean;
  ready: boolean;
  /** Milliseconds without a report after which the reporter counts as failed; 0 = never. */
  timeoutMs: number;
}

interface ReporterState extends ReporterOptions {
  name: string;
  lastReport: number;
  detail: string;
}

export interface HealthReport {
  live: boolean;
  ready: boolean;
  detail?: string;
}

export class HealthAggregator {
  readonly #reporters = new Map<string, ReporterState>();

  constructor(private readonly now: () => number = Date.now) {}

  register(name: string, opts: ReporterOptions): void {
    this.#reporters.set(name, { name, ...opts, lastReport: this.now(), detail: "" });
  }

  report(name: string, status: HealthReport): void {
    const r = this.#reporters.get(name);
    if (!r) throw new Error(`health reporter ${name} is not registered`);
    r.live = status.live;
    r.ready = status.ready;
    r.detail = status.detail ?? "";
    r.lastReport = this.now();
  }

  #timedOut(r: ReporterState): boolean {
    return r.timeoutMs > 0 && this.now() - r.lastReport > r.timeoutMs;
  }

  #good(r: ReporterState, what: "live" | "ready"): boolean {
    return !this.#timedOut(r) && r[what];
  }

  get live(): boolean {
    return [...this.#reporters.values()].every((r) => this.#good(r, "live"));
  }

  get ready(): boolean {
    return [...this.#reporters.values()].every((r) => this.#good(r, "ready"));
  }

  /** Calico's table: COMPONENT, TIMEOUT, LIVENESS, READINESS, DETAIL. */
  table(): string {
    const rows = [["COMPONENT", "TIMEOUT", "LIVENESS", "READINESS", "DETAIL"]];
    for (const r of this.#reporters.values()) {
      const stale = this.#timedOut(r);
      rows.push([
        r.name,
        r.timeoutMs > 0 ? `${r.timeoutMs / 1000}s` : "-",
        stale ? "timed out" : r.live ? "reporting live" : "reporting non-live",
        stale ? "timed out" : r.ready ? "reporting ready" : "reporting non-ready",
        r.detail,
      ]);
    }
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
    const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
    const rule = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`;
    return [rule, line(rows[0] ?? []), rule, ...rows.slice(1).map(line), rule, ""].join("\n");
  }
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** Serves the aggregator on host:port (port 0 picks a free one). */
export async function serveHealth(agg: HealthAggregator, host: string, port: number): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const good = path === "/liveness" ? agg.live : path === "/readiness" ? agg.ready : undefined;
    if (good === undefined || req.method !== "GET") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(good ? 200 : 503, { "content-type": "text/plain; charset=utf-8" }).end(agg.table());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
