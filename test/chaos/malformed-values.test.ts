/**
 * Someone else writes garbage under Calico's keys in a real etcd: bad JSON, values of the wrong
 * kind, wrong field types, a different kind stored under another kind's key, and unknown fields.
 * Felix, confd and calicoctl must log each bad value with its key, skip it, and carry on with
 * everything valid around it; nothing may crash.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConfdHandle, startConfd } from "../../src/bgp/index.js";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import type { ToDataplane } from "../../src/felix/calc/index.js";
import { type FelixHandle, startFelix } from "../../src/felix/daemon/index.js";
import { eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";

const API = "projectcalico.org/v3";
const R = "/calico/resources/v3/projectcalico.org";
const CALICOCTL = join(import.meta.dirname, "../../bin/calicoctl");

/** Keys and values no Calico component wrote. */
const MALFORMED: Record<string, string> = {
  [`${R}/globalnetworkpolicies/bad-json`]: '{"kind":"GlobalNetworkPolicy","metadata":{"name":',
  [`${R}/globalnetworkpolicies/not-an-object`]: "[1,2,3]",
  [`${R}/globalnetworkpolicies/selector-number`]: JSON.stringify({
    kind: "GlobalNetworkPolicy",
    apiVersion: API,
    metadata: { name: "selector-number" },
    spec: { selector: 42, ingress: "allow everything" },
  }),
  [`${R}/networkpolicies/default/wrong-kind`]: JSON.stringify({
    kind: "IPPool",
    apiVersion: API,
    metadata: { name: "wrong-kind" },
    spec: { cidr: "10.99.0.0/16" },
  }),
  [`${R}/workloadendpoints/default/bad-wep`]: JSON.stringify({
    kind: "WorkloadEndpoint",
    apiVersion: API,
    metadata: { name: "bad-wep", namespace: "default" },
    spec: { node: "node1", ipNetworks: "10.65.0.9", interfaceName: 7 },
  }),
  [`${R}/nodes/node-bad`]: JSON.stringify({
    kind: "Node",
    apiVersion: API,
    metadata: { name: "node-bad" },
    spec: { bgp: "everywhere" },
  }),
  [`${R}/bgppeers/peer-bad`]: JSON.stringify({
    kind: "BGPPeer",
    apiVersion: API,
    metadata: { name: "peer-bad" },
    spec: { peerIP: 17, asNumber: "lots" },
  }),
  [`${R}/ippools/pool-bad`]: JSON.stringify({
    kind: "IPPool",
    apiVersion: API,
    metadata: { name: "pool-bad" },
    spec: { cidr: 7, ipipMode: ["x"] },
  }),
  "/calico/ipam/v2/assignment/ipv4/block/10.65.5.0-26": "not json at all",
  "/calico/ipam/v2/assignment/ipv4/block/10.65.6.0-26": JSON.stringify({ cidr: 5, allocations: "x" }),
  "/calico/ipam/v2/host/node1/ipv4/block/10.65.9.0-26": "{{",
  "/calico/ipam/v2/handle/broken-handle": "[]",
};

/** Unknown fields are ignored, as Go's JSON decoding in Calico ignores them: the policy applies. */
const UNKNOWN_FIELDS_KEY = `${R}/globalnetworkpolicies/unknown-fields`;
const UNKNOWN_FIELDS = JSON.stringify({
  kind: "GlobalNetworkPolicy",
  apiVersion: API,
  metadata: { name: "unknown-fields", frobnicate: true },
  spec: { selector: "all()", order: 5, types: ["Ingress"], ingress: [{ action: "Allow" }], zorp: 1 },
  status: { weird: [1] },
});

/** The keys each component reads (the others it never sees). */
const FELIX_KEYS = Object.keys(MALFORMED).filter(
  (k) => !k.includes("/bgppeers/") && !k.includes("/ipam/v2/host/") && !k.includes("/handle/"),
);
const CONFD_KEYS = Object.keys(MALFORMED).filter(
  (k) => /\/(nodes|bgppeers|ippools)\//.test(k) || k.includes("/ipam/v2/host/node1/"),
);

let etcd: EtcdServer;
let kv: EtcdKV;
let dir: string;
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);

/** A pino logger whose JSON lines are kept for assertions. */
function capturingLogger(): { log: pino.Logger; lines: () => string } {
  let text = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { log: pino({ level: "debug" }, sink), lines: () => text };
}

function calicoctl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CALICOCTL, ...args], {
      env: { PATH: process.env.PATH, DATASTORE_TYPE: "etcdv3", ETCD_ENDPOINTS: etcd.endpoint },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  etcd = await startEtcd();
  kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  dir = await mkdtemp(join(tmpdir(), "cts-malformed-"));
  const store = new CalicoResourceStore(kv);
  await store.create({
    apiVersion: API,
    kind: "IPPool",
    metadata: { name: "good-pool" },
    spec: { cidr: "10.65.0.0/16" },
  });
  await store.create({
    apiVersion: API,
    kind: "Node",
    metadata: { name: "node1" },
    spec: { bgp: { ipv4Address: "172.31.9.1/24" } },
  });
  await store.create({
    apiVersion: API,
    kind: "Node",
    metadata: { name: "node2" },
    spec: { bgp: { ipv4Address: "172.31.9.2/24" } },
  });
  await store.create({
    apiVersion: API,
    kind: "GlobalNetworkPolicy",
    metadata: { name: "good-policy" },
    spec: { selector: "all()", order: 10, types: ["Ingress"], ingress: [{ action: "Allow" }] },
  });
  // A local endpoint makes the policies that select it active, so Felix sends them to its dataplane.
  await store.create({
    apiVersion: API,
    kind: "WorkloadEndpoint",
    metadata: { name: "node1-k8s-pod1-eth0", namespace: "default" },
    spec: {
      orchestrator: "k8s",
      node: "node1",
      pod: "pod1",
      endpoint: "eth0",
      interfaceName: "cali0123456789a",
      ipNetworks: ["10.65.1.5/32"],
      profiles: ["kns.default"],
    },
  });
  await kv.put("/calico/ipam/v2/host/node1/ipv4/block/10.65.1.0-26", '{"state":"confirmed","deleted":false}');
  for (const [key, value] of Object.entries(MALFORMED)) await kv.put(key, value);
  await kv.put(UNKNOWN_FIELDS_KEY, UNKNOWN_FIELDS);
});

afterAll(async () => {
  process.off("uncaughtException", onCrash);
  process.off("unhandledRejection", onCrash);
  await kv?.close();
  await etcd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("malformed values under Calico's keys", () => {
  it("Felix logs every bad value with its key, skips it, and programs the valid policy", async () => {
    const { log, lines } = capturingLogger();
    const received: ToDataplane[] = [];
    let felix: FelixHandle | undefined;
    try {
      felix = await startFelix({
        env: { FELIX_ETCDENDPOINTS: etcd.endpoint, FELIX_FELIXHOSTNAME: "node1", FELIX_LOGFILEPATH: "none" },
        configFile: join(dir, "none.cfg"),
        logger: log,
        dataplaneFactory: () => ({
          onUpdate: (m) => received.push(m),
          needsApply: false,
          applyDeadline: undefined,
          apply: async () => undefined,
          resync: () => undefined,
          interfacesChanged: () => undefined,
        }),
      });
      await eventually(() => expect(received.some((m) => m.type === "InSync")).toBe(true), 10_000);
      const policies = received
        .filter((m) => m.type === "ActivePolicyUpdate")
        .map((m) => (m as { id: { name: string } }).id.name);
      expect(policies).toContain("good-policy");
      expect(policies).toContain("unknown-fields");
      expect(policies).not.toContain("selector-number");
      // A bad value written while Felix runs is logged and skipped just the same.
      const liveKey = `${R}/globalnetworkpolicies/late-garbage`;
      await kv.put(liveKey, "}{");
      await eventually(() => expect(lines()).toContain(liveKey), 5_000);
      for (const key of FELIX_KEYS) expect(lines(), key).toContain(key);
      let exited = false;
      void felix.exited.then(() => {
        exited = true;
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(exited).toBe(false);
      expect(crashes).toEqual([]);
      await kv.delete(liveKey);
    } finally {
      await felix?.stop();
    }
  });

  it("confd logs bad Nodes, peers, pools and affinities with their keys and renders the rest", async () => {
    const { log, lines } = capturingLogger();
    let confd: ConfdHandle | undefined;
    try {
      confd = startConfd({
        nodeName: "node1",
        kv,
        configFile: join(dir, "bird.cfg"),
        birdSocket: join(dir, "no-bird.ctl"),
        log,
      });
      await confd.firstRender;
      const config = confd.lastConfig();
      expect(config).toContain("172.31.9.2");
      expect(config).toContain("10.65.1.0/26");
      expect(config).not.toContain("node-bad");
      for (const key of CONFD_KEYS) expect(lines(), key).toContain(key);
      // A bad affinity arriving later is skipped too, and confd keeps rendering.
      await kv.put("/calico/ipam/v2/host/node1/ipv4/block/10.65.12.0-26", "][");
      await kv.put("/calico/ipam/v2/host/node1/ipv4/block/10.65.13.0-26", '{"state":"confirmed"}');
      await eventually(() => expect(confd?.lastConfig()).toContain("10.65.13.0/26"), 5_000);
      expect(lines()).toContain("10.65.12.0-26");
      expect(crashes).toEqual([]);
    } finally {
      await confd?.stop();
      await kv.delete("/calico/ipam/v2/host/node1/ipv4/block/10.65.12.0-26");
      await kv.delete("/calico/ipam/v2/host/node1/ipv4/block/10.65.13.0-26");
    }
  });

  it("calicoctl get lists the valid resources and names each value it skipped", async () => {
    const out = await calicoctl(["get", "globalnetworkpolicies"]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain("good-policy");
    expect(out.stdout).toContain("unknown-fields");
    expect(out.stderr).toContain(`${R}/globalnetworkpolicies/bad-json`);
    const nodes = await calicoctl(["get", "nodes", "-o", "wide"]);
    expect(nodes.code, nodes.stderr).toBe(0);
    expect(nodes.stdout).toContain("node1");
  });

  it("calicoctl ipam check reports the corrupt blocks and handle by key instead of failing", async () => {
    const out = await calicoctl(["ipam", "check"]);
    expect(out.stdout + out.stderr).toContain("10.65.5.0-26");
    expect(out.stdout + out.stderr).toContain("10.65.6.0-26");
    expect(out.stdout + out.stderr).toContain("broken-handle");
    expect(out.stderr).not.toMatch(/TypeError|SyntaxError|at .*\.js:\d+/);
  });
});
