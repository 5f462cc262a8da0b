/**
 * What `calico-lab chaos` measured per fault, the goals it holds each figure to, and the table it
 * prints. Pure: the run gathers the figures, this judges and formats them.
 */

export interface FaultResult {
  fault: string;
  /** Why the fault was not injected (e.g. the lab runs no Typha); the other fields are then zero. */
  skipped?: string;
  /** Does the fault take a node's own link down? Then broken connections are expected. */
  linkDown: boolean;
  brokenConnections: number;
  failedNewConnections: number;
  /** First to last failed new connection, in ms (0 when none failed). */
  failureWindowMs: number;
  /** A denied probe that got through during or after the fault, or an allowed one refused after it. */
  violations: number;
  /** From lifting the fault to every node ready, etcd writable, policy right and every connection up. */
  reconvergeMs: number;
  /** False when it did not reconverge within the run's limit. */
  reconverged: boolean;
  /** IPAM allocations whose pod no longer exists. */
  leaks: number;
  duplicateIPs: number;
  /** Workload routes and per-interface chains left for interfaces that are gone. */
  staleKernelState: number;
  /** Process restarts (and in-process Felix/BIRD restarts) other than the injected ones. */
  unexpectedRestarts: number;
}

export interface FinalResult {
  /** Problems `calicoctl ipam check` found after every pod was deleted. */
  ipamCheckProblems: number;
  /** IPAM allocations left after every pod was deleted (tunnel addresses excluded). */
  leakedAllocations: number;
  staleKernelState: number;
}

/** Every goal a fault's figures missed, as sentences; empty when it met them all. */
export function missedGoals(r: FaultResult): string[] {
  if (r.skipped) return [];
  const out: string[] = [];
  if (!r.linkDown && r.brokenConnections > 0)
    out.push(`${r.fault}: ${r.brokenConnections} established connections broken (goal 0)`);
  if (r.violations > 0) out.push(`${r.fault}: ${r.violations} policy violations (goal 0)`);
  if (!r.reconverged) out.push(`${r.fault}: did not reconverge`);
  if (r.leaks > 0) out.push(`${r.fault}: ${r.leaks} leaked IPAM allocations (goal 0)`);
  if (r.duplicateIPs > 0) out.push(`${r.fault}: ${r.duplicateIPs} duplicate pod IPs (goal 0)`);
  if (r.staleKernelState > 0) out.push(`${r.fault}: ${r.staleKernelState} stale kernel objects (goal 0)`);
  if (r.unexpectedRestarts > 0) out.push(`${r.fault}: ${r.unexpectedRestarts} unexpected restarts (goal 0)`);
  return out;
}

export function missedFinalGoals(f: FinalResult): string[] {
  const out: string[] = [];
  if (f.ipamCheckProblems > 0)
    out.push(`after all pods were deleted: ipam check found ${f.ipamCheckProblems} problems`);
  if (f.leakedAllocations > 0)
    out.push(`after all pods were deleted: ${f.leakedAllocations} allocations leaked`);
  if (f.staleKernelState > 0)
    out.push(`after all pods were deleted: ${f.staleKernelState} stale kernel objects`);
  return out;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The fault × figures table, one row per fault, then the final checks. */
export function formatTable(results: readonly FaultResult[], final?: FinalResult): string {
  const header = [
    "FAULT",
    "BROKEN CONNS",
    "FAILED NEW CONNS",
    "VIOLATIONS",
    "RECONVERGENCE",
    "LEAKS",
    "DUP IPS",
    "STALE",
    "RESTARTS",
  ];
  const rows = results.map((r) =>
    r.skipped
      ? [r.fault, `skipped: ${r.skipped}`]
      : [
          r.fault,
          `${r.brokenConnections}${r.linkDown ? " (link down)" : ""}`,
          r.failedNewConnections === 0 ? "0" : `${r.failedNewConnections} over ${seconds(r.failureWindowMs)}`,
          String(r.violations),
          r.reconverged ? seconds(r.reconvergeMs) : "NOT REACHED",
          String(r.leaks),
          String(r.duplicateIPs),
          String(r.staleKernelState),
          String(r.unexpectedRestarts),
        ],
  );
  const full = [header, ...rows.filter((r) => r.length === header.length)];
  const widths = header.map((_, i) => Math.max(...full.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.length === header.length
      ? r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd()
      : `${(r[0] ?? "").padEnd(widths[0] ?? 0)}  ${r[1]}`;
  const out = [line(header), ...rows.map(line)];
  if (final)
    out.push(
      "",
      `after all pods were deleted: ipam check problems ${final.ipamCheckProblems}, leaked allocations ${final.leakedAllocations}, stale kernel objects ${final.staleKernelState}`,
    );
  return `${out.join("\n")}\n`;
}
