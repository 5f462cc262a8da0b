import { describe, expect, it } from "vitest";
import { runCheck } from "../../src/calicoctl/ipam/check.js";
import { goG, goRound0 } from "../../src/calicoctl/ipam/gofmt.js";
import { checkReports, decodeReport, encodeReport, mergeReports } from "../../src/calicoctl/ipam/report.js";
import {
  findBorrowedIPs,
  formatBorrowed,
  formatIPAMConfig,
  formatIPStatus,
  formatUtilization,
} from "../../src/calicoctl/ipam/show-format.js";
import { allocateFromBlock, newBlock, releaseOrdinals } from "../../src/ipam/block.js";
import { DEFAULT_IPAM_CONFIG } from "../../src/ipam/config.js";
import { poolsFromResources } from "../../src/ipam/pools.js";
import { Reservations } from "../../src/ipam/reservations.js";
import { computeUtilization } from "../../src/ipam/utilization.js";
import { parseCIDR } from "../../src/lib/net.js";

const now = new Date("2026-11-22T10:00:00Z");
const pool = (name: string, cidr: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "projectcalico.org/v3",
  kind: "IPPool",
  metadata: { name },
  spec: { cidr, ...extra },
});

describe("Go number formatting", () => {
  it("prints %.5g like Go", () => {
    expect(goG(65536)).toBe("65536");
    expect(goG(64)).toBe("64");
    expect(goG(1048576)).toBe("1.0486e+06");
    expect(goG(2 ** 80)).toBe("1.2089e+24");
    expect(goG(100000)).toBe("1e+05");
    expect(goG(0)).toBe("0");
  });
  it("rounds %.f half to even", () => {
    expect(goRound0(12.5)).toBe("12");
    expect(goRound0(13.5)).toBe("14");
    expect(goRound0(92.1875)).toBe("92");
    expect(goRound0(0.0076)).toBe("0");
  });
});

describe("ipam show", () => {
  it("renders the utilisation table exactly as calicoctl does", () => {
    const b = newBlock(parseCIDR("10.65.79.0/26")!, "host:node-a", now, 1n);
    allocateFromBlock(b, { num: 5, handleId: "h" });
    const usage = computeUtilization(
      poolsFromResources([pool("p", "10.65.0.0/16")]),
      [b],
      new Reservations([]),
    );
    expect(formatUtilization(usage, true)).toBe(
      [
        "+----------+---------------+-----------+------------+--------------+--------------+",
        "| GROUPING |     CIDR      | IPS TOTAL | IPS IN USE | IPS RESERVED |   IPS FREE   |",
        "+----------+---------------+-----------+------------+--------------+--------------+",
        "| IP Pool  | 10.65.0.0/16  |     65536 | 5 (0%)     | 0 (0%)       | 65531 (100%) |",
        "| Block    | 10.65.79.0/26 |        64 | 5 (8%)     | 0 (0%)       | 59 (92%)     |",
        "+----------+---------------+-----------+------------+--------------+--------------+",
        "",
      ].join("\n"),
    );
    expect(formatUtilization(usage, false)).not.toContain("Block");
  });

  it("counts reservations and shows orphan blocks only as block rows", () => {
    const inPool = newBlock(parseCIDR("10.65.0.0/26")!, "host:a", now, 1n);
    const orphan = newBlock(parseCIDR("192.168.9.0/26")!, "host:a", now, 1n);
    allocateFromBlock(orphan, { num: 1 });
    const usage = computeUtilization(
      poolsFromResources([pool("p", "10.65.0.0/24")]),
      [inPool, orphan],
      new Reservations([parseCIDR("10.65.0.0/30")!, parseCIDR("10.65.0.128/25")!]),
    );
    expect(usage[0]).toMatchObject({ capacity: 256n, reserved: 132n, inUse: 0n, available: 124n });
    const text = formatUtilization(usage, true);
    expect(text).toContain(
      "| Block    | 10.65.0.0/26   |        64 | 0 (0%)     | 4 (6%)       | 60 (94%)  |",
    );
    expect(text).toContain("| Block    | 192.168.9.0/26 |        64 | 1 (2%)");
    expect(text.match(/IP Pool/g)).toHaveLength(1);
  });

  it("describes one address", () => {
    expect(formatIPStatus("10.0.0.1", undefined)).toBe("10.0.0.1 is not assigned\n");
    expect(
      formatIPStatus("10.0.0.1", {
        handleId: "k8s-pod-network.abc",
        attrs: { pod: "p", namespace: "ns", node: "n1" },
        sequenceNumber: 1n,
        block: "10.0.0.0/26",
        blockAffinity: "host:n1",
      }),
    ).toBe(
      "IP 10.0.0.1 is in use\nHandle ID: k8s-pod-network.abc\nActive Owner Attributes:\n  namespace: ns\n  node: n1\n  pod: p\n",
    );
    expect(
      formatIPStatus("10.0.0.1", { attrs: {}, sequenceNumber: 0n, block: "", blockAffinity: null }),
    ).toBe("IP 10.0.0.1 is in use\nHandle ID: <none>\nNo Active Owner attributes defined\n");
  });

  it("lists borrowed addresses", () => {
    const b = newBlock(parseCIDR("10.0.0.0/26")!, "host:node-a", now, 1n);
    allocateFromBlock(b, { num: 1, handleId: "x", attrs: { node: "node-a" } });
    allocateFromBlock(b, { num: 1, handleId: "y", attrs: { node: "node-b", pod: "web", namespace: "prod" } });
    allocateFromBlock(b, { num: 1, handleId: "z" });
    const found = findBorrowedIPs([b]);
    expect(found.unclassified).toBe(1);
    expect(formatBorrowed(found)).toBe(
      [
        "+----------+----------------+-------------+-------------+------+--------------+",
        "|    IP    | BORROWING-NODE |    BLOCK    | BLOCK OWNER | TYPE | ALLOCATED-TO |",
        "+----------+----------------+-------------+-------------+------+--------------+",
        "| 10.0.0.1 | node-b         | 10.0.0.0/26 | node-a      | pod  | prod/web     |",
        "+----------+----------------+-------------+-------------+------+--------------+",
        "",
        "Note: found 1 IP allocations without an explicit node association. Unable to determine if they are borrowed.",
        "",
      ].join("\n"),
    );
  });

  it("shows the configuration", () => {
    expect(formatIPAMConfig({ ...DEFAULT_IPAM_CONFIG, strictAffinity: true, maxBlocksPerHost: 4 })).toContain(
      "| StrictAffinity               | true      |",
    );
  });
});

describe("ipam check and reports", () => {
  const node = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: "projectcalico.org/v3",
    kind: "Node",
    metadata: { name },
    spec,
  });
  const wep = (name: string, ips: string[]) => ({
    apiVersion: "projectcalico.org/v3",
    kind: "WorkloadEndpoint",
    metadata: { name, namespace: "ns" },
    spec: { ipNetworks: ips },
  });

  function scenario() {
    const b = newBlock(parseCIDR("10.0.0.0/26")!, "host:n1", now, 1763805600000000000n);
    allocateFromBlock(b, {
      num: 1,
      handleId: "ipip-tunnel-addr-n1",
      attrs: { node: "n1", type: "ipipTunnelAddress" },
    });
    allocateFromBlock(b, {
      num: 1,
      handleId: "k8s-pod-network.live",
      attrs: { node: "n1", pod: "a", namespace: "ns" },
    });
    allocateFromBlock(b, {
      num: 1,
      handleId: "k8s-pod-network.gone",
      attrs: { node: "n2", pod: "b", namespace: "ns" },
    });
    allocateFromBlock(b, { num: 1, handleId: "k8s-pod-network.released" });
    b.sequenceNumber += 5n;
    releaseOrdinals(b, [3], now);
    return runCheck({
      version: "v1.0.0",
      clusterInfo: {
        apiVersion: "projectcalico.org/v3",
        kind: "ClusterInformation",
        metadata: { name: "default", resourceVersion: "42" },
        spec: { clusterGUID: "guid-1", clusterType: "typha,bgp", datastoreReady: false },
      },
      blocks: [b],
      pools: poolsFromResources([pool("p", "10.0.0.0/16")]),
      nodes: [node("n1", { bgp: { ipv4IPIPTunnelAddr: "10.0.0.0" } })],
      workloadEndpoints: [
        wep("n1-k8s-a-eth0", ["10.0.0.1/32"]),
        wep("stray", ["10.0.5.5/32", "172.16.0.1/32"]),
      ],
      handles: [
        { id: "ipip-tunnel-addr-n1", rev: "5" },
        { id: "k8s-pod-network.live", rev: "6" },
        { id: "k8s-pod-network.orphan", rev: "7" },
      ],
      now,
      showProblemIPs: true,
    });
  }

  it("finds leaks, unallocated in-use IPs, orphaned and missing handles", () => {
    const { text, report, problems } = scenario();
    expect(text).toContain("IPAM blocks record 3 allocations.");
    expect(text).toContain("Found 1 node tunnel IPs.");
    expect(text).toContain("Found 3 workload IPs.");
    expect(text).toContain(
      "  10.0.0.2 leaked; attrs Main:k8s-pod-network.gone Extra:namespace=ns,node=n2,pod=b",
    );
    expect(text).toContain("Found 1 IPs that are allocated in IPAM but not actually in use.");
    expect(text).toContain("  172.16.0.1 in use by Workload(ns/stray) is not in any active IP pool.");
    expect(text).toContain(
      "Found 1 in-use IPs that are in active IP pools but have no corresponding IPAM allocation.",
    );
    expect(text).toContain("Found 1 handles with no matching IPs (and 2 handles with matches).");
    expect(text).toContain("  k8s-pod-network.gone is in use in a block but doesn't exist.");
    expect(text).toContain("Node with most allocations has 2; median is 1");
    expect(problems).toBe(5);
    expect(text.endsWith("Check complete; found 5 problems.\n")).toBe(true);
    expect(report.allocations["10.0.0.2"]?.[0]).toMatchObject({ borrowed: true, inUse: false, node: "n2" });
    expect(report.allocations["10.0.0.3"]).toBeUndefined();
  });

  it("writes Calico's report layout and releases only leaks common to every report", () => {
    const { report } = scenario();
    const text = encodeReport(report);
    expect(text).toMatch(
      /^\{\n {2}"version": "v1\.0\.0",\n {2}"clusterGUID": "guid-1",\n {2}"datastoreLocked": true,/,
    );
    expect(text).toContain('"sequenceNumber": 1763805600000000000');
    expect(text).toContain(
      '"leakedHandles": [\n    {\n      "ID": "k8s-pod-network.orphan",\n      "UID": null,\n      "Revision": "7"',
    );
    const back = decodeReport(text);
    expect(back.allocations["10.0.0.2"]?.[0]?.sequenceNumber).toBe(1763805600000000000n);
    const older = decodeReport(text);
    older.allocations = {};
    expect(mergeReports([back]).ips).toEqual([
      { address: "10.0.0.2", handle: "k8s-pod-network.gone", sequenceNumber: 1763805600000000000n },
    ]);
    expect(mergeReports([back, older]).ips).toEqual([]);
    expect(mergeReports([back, back]).handles.map((h) => h.ID)).toEqual(["k8s-pod-network.orphan"]);
  });

  it("refuses reports from another cluster, a stale revision or an unlocked datastore", () => {
    const { report } = scenario();
    const info = (spec: Record<string, unknown>, rv = "42") => ({
      apiVersion: "projectcalico.org/v3",
      kind: "ClusterInformation",
      metadata: { name: "default", resourceVersion: rv },
      spec,
    });
    const files = [{ file: "r.json", report }];
    expect(() => checkReports(files, info({ clusterGUID: "other" }), "v1.0.0", true)).toThrow(
      /mismatched cluster GUID/,
    );
    expect(() =>
      checkReports(files, info({ clusterGUID: "guid-1", datastoreReady: false }, "43"), "v1.0.0", false),
    ).toThrow(/all stale/);
    expect(() => checkReports(files, info({ clusterGUID: "guid-1" }), "v1.0.0", false)).toThrow(/not locked/);
    expect(() =>
      checkReports(files, info({ clusterGUID: "guid-1", datastoreReady: false }), "v2", false),
    ).toThrow(/different version/);
    expect(checkReports(files, info({ clusterGUID: "guid-1" }), "v1.0.0", true)).toEqual([
      "WARNING: Data store is not locked. Ignoring due to --force option",
    ]);
  });
});
