/** The chaos run's judgement and table: which figures miss a goal, and how rows are printed. */
import { describe, expect, it } from "vitest";
import { type FaultResult, formatTable, missedFinalGoals, missedGoals } from "../../src/lab/chaos/report.js";

const clean = (fault: string, extra: Partial<FaultResult> = {}): FaultResult => ({
  fault,
  linkDown: false,
  brokenConnections: 0,
  failedNewConnections: 0,
  failureWindowMs: 0,
  violations: 0,
  reconvergeMs: 1_234,
  reconverged: true,
  leaks: 0,
  duplicateIPs: 0,
  staleKernelState: 0,
  unexpectedRestarts: 0,
  ...extra,
});

describe("chaos report", () => {
  it("a clean fault misses no goal; failed new connections alone are reported, not judged", () => {
    expect(
      missedGoals(clean("etcd leader killed", { failedNewConnections: 5, failureWindowMs: 800 })),
    ).toEqual([]);
  });

  it("broken connections miss the goal unless the fault took the node's own link down", () => {
    expect(missedGoals(clean("BIRD killed", { brokenConnections: 2 }))).toEqual([
      "BIRD killed: 2 established connections broken (goal 0)",
    ]);
    expect(missedGoals(clean("node link flapped", { brokenConnections: 2, linkDown: true }))).toEqual([]);
  });

  it("every other figure has goal 0, and not reconverging is a miss", () => {
    const missed = missedGoals(
      clean("x", {
        violations: 1,
        leaks: 2,
        duplicateIPs: 3,
        staleKernelState: 4,
        unexpectedRestarts: 5,
        reconverged: false,
      }),
    );
    expect(missed).toHaveLength(6);
    expect(missed.join("\n")).toMatch(
      /violations.*\n.*reconverge.*\n.*leaked.*\n.*duplicate.*\n.*stale.*\n.*restarts/,
    );
    expect(missedGoals(clean("t", { skipped: "no Typha", violations: 9 }))).toEqual([]);
    expect(
      missedFinalGoals({ ipamCheckProblems: 1, leakedAllocations: 0, staleKernelState: 0 }),
    ).toHaveLength(1);
  });

  it("prints one aligned row per fault, with the failure window, skips and the final checks", () => {
    const text = formatTable(
      [
        clean("etcd leader killed"),
        clean("node link flapped", {
          linkDown: true,
          brokenConnections: 1,
          failedNewConnections: 16,
          failureWindowMs: 3_200,
        }),
        clean("Typha killed", { skipped: "needs 2 Typhas" }),
        clean("calico-node killed -9", { reconverged: false }),
      ],
      { ipamCheckProblems: 0, leakedAllocations: 0, staleKernelState: 0 },
    );
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^FAULT\s+BROKEN CONNS\s+FAILED NEW CONNS\s+VIOLATIONS\s+RECONVERGENCE\s+LEAKS/);
    expect(lines[1]).toMatch(/^etcd leader killed\s+0\s+0\s+0\s+1\.2 s\s+0\s+0\s+0\s+0$/);
    expect(lines[2]).toMatch(/^node link flapped\s+1 \(link down\)\s+16 over 3\.2 s\s+0/);
    expect(lines[3]).toMatch(/^Typha killed\s+skipped: needs 2 Typhas$/);
    expect(lines[4]).toContain("NOT REACHED");
    // Columns line up: the violations column starts at the same offset in every full row.
    const col = (l: string) => l.indexOf("VIOLATIONS");
    expect(col(lines[0] as string)).toBeGreaterThan(0);
    expect(text).toContain("after all pods were deleted: ipam check problems 0, leaked allocations 0");
  });
});
