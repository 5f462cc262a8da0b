/**
 * `calico-lab up --etcd 3 --typha 2` then `calico-lab chaos --quick`: every fault once, short,
 * under the steady workload, and the goals the issue sets for each. Where Calico's behaviour is
 * the bar, the test name says so.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultResult, FinalResult } from "../../src/lab/chaos/report.js";
import { LabCli } from "./cli.js";

let cli: LabCli;
let status = "";
let report: { results: FaultResult[]; final: FinalResult; notes: string[]; missed: string[] };
let chaosCode: number | null = null;

const row = (title: string): FaultResult => {
  const r = report.results.find((x) => x.fault === title);
  if (!r) throw new Error(`no row for ${title}: ${report.results.map((x) => x.fault).join(", ")}`);
  expect(r.skipped, `${title} was skipped`).toBeUndefined();
  return r;
};

/** The goals every fault shares: nothing wrong with policy, IPAM, the kernel or other processes. */
function expectClean(r: FaultResult): void {
  expect(r.violations, `${r.fault}: policy violations`).toBe(0);
  expect(r.reconverged, `${r.fault}: reconverged`).toBe(true);
  expect(r.leaks, `${r.fault}: leaked allocations`).toBe(0);
  expect(r.duplicateIPs, `${r.fault}: duplicate IPs`).toBe(0);
  expect(r.staleKernelState, `${r.fault}: stale kernel state (${report.notes.join("; ")})`).toBe(0);
  expect(r.unexpectedRestarts, `${r.fault}: restarts (${report.notes.join("; ")})`).toBe(0);
}

beforeAll(async () => {
  cli = await LabCli.create("cch");
  await cli.ok("up", "--nodes", "2", "--etcd", "3", "--typha", "2");
  status = await cli.ok("status");
  const out = await cli.run("chaos", "--quick", "--json");
  chaosCode = out.code;
  if (!out.stdout.trim().startsWith("{")) throw new Error(`chaos failed (${out.code}): ${out.stderr}`);
  report = JSON.parse(out.stdout) as typeof report;
}, 900_000);

afterAll(async () => {
  await cli?.ok("down");
}, 120_000);

describe("calico-lab chaos --quick on a 3-member etcd cluster with 2 Typhas", () => {
  it("status names the three etcd members, all running, and the leader", () => {
    expect(status).toMatch(/^etcd: 3-member cluster, leader etcd\d/m);
    expect(status.match(/^\s+etcd\d: http:\/\/127\.0\.0\.\d:\d+ \(pid \d+, running\)/gm)).toHaveLength(3);
    expect(status.match(/ leader$/gm)).toHaveLength(1);
  });

  it("etcd leader killed: no connection breaks and the cluster takes writes again", () => {
    const r = row("etcd leader killed");
    expect(r.brokenConnections).toBe(0);
    expectClean(r);
  });

  it("etcd quorum lost and regained: no connection breaks (Calico's bar: Felix never flushes the dataplane while the datastore is down)", () => {
    const r = row("etcd quorum lost");
    expect(r.brokenConnections).toBe(0);
    expect(r.failedNewConnections).toBe(0);
    expectClean(r);
  });

  it("calico-node killed -9 and restarted: no connection breaks (Calico's bar: a restarted Felix adopts the dataplane it finds)", () => {
    const r = row("calico-node killed -9");
    expect(r.brokenConnections).toBe(0);
    expectClean(r);
  });

  it("BIRD killed: no connection breaks; calico-node restarts BIRD, which keeps the routes (graceful restart, as Calico)", () => {
    const r = row("BIRD killed");
    expect(r.brokenConnections).toBe(0);
    expectClean(r);
  });

  it("a node's fabric link flapped: new connections fail only while it is down, and all recover", () => {
    const r = row("node link flapped");
    expectClean(r);
    expect(r.failureWindowMs).toBeLessThan(15_000);
  });

  it("a Typha killed and restarted: its nodes fail over to the other Typha without breaking a connection", () => {
    const r = row("Typha killed");
    expect(r.brokenConnections).toBe(0);
    expect(r.failedNewConnections).toBe(0);
    expectClean(r);
  });

  it("malformed values under Calico's keys: each is logged with its key and skipped, nothing restarts", () => {
    const r = row("malformed datastore values");
    expect(r.brokenConnections).toBe(0);
    expect(r.failedNewConnections).toBe(0);
    expectClean(r);
    const log = readFileSync(join(cli.dir, "node1", "calico-node.log"), "utf8");
    expect(log).toMatch(
      /Skipping invalid datastore value.*globalnetworkpolicies\/chaos-wrong-types|globalnetworkpolicies\/chaos-wrong-types.*Skipping invalid datastore value/,
    );
  });

  it("faults combined (leader kill + calico-node kill + malformed values): no connection breaks", () => {
    const r = row("combined: leader + calico-node + malformed");
    expect(r.brokenConnections).toBe(0);
    expectClean(r);
  });

  it("after every pod is deleted: calicoctl ipam check is clean, nothing leaked, no stale kernel state", () => {
    expect(report.final).toEqual({ ipamCheckProblems: 0, leakedAllocations: 0, staleKernelState: 0 });
    expect(report.missed).toEqual([]);
    expect(chaosCode).toBe(0);
  });
});
