/**
 * calico-felix fed by Typha instead of etcd (it is given no etcd at all), in a host namespace with
 * real workloads: policy from the datastore is enforced; when its Typha dies it moves to the other
 * one, no chain or route disappears meanwhile, and a policy written during the switch is enforced
 * after it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CalicoClient, ensureInitialized } from "../../src/client/index.js";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import { Lab, type LabWorkload } from "../felix/dataplane/lab.js";
import { eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { type Forward, forwardIntoNetns, removeAll } from "../support/netns.js";
import { startTestTypha, type TestTypha } from "../support/typha.js";

const PREFIX = "cts-ft";
const HOST = "typhahost";
const API = "projectcalico.org/v3";
const FELIX_BIN = join(import.meta.dirname, "../../bin/calico-felix");

let etcd: EtcdServer;
let kv: EtcdKV;
let client: CalicoClient;
let lab: Lab;
let w1: LabWorkload;
let w2: LabWorkload;
let typhaA: TestTypha;
let typhaB: TestTypha;
const forwards: Forward[] = [];
let felix: ChildProcess | undefined;
let felixLog = "";
let dir: string;

const wep = (w: LabWorkload, n: number, labels: Record<string, string>) => ({
  apiVersion: API,
  kind: "WorkloadEndpoint",
  metadata: { name: `${HOST}-k8s-w${n}-eth0`, namespace: "test", labels },
  spec: {
    orchestrator: "k8s",
    node: HOST,
    pod: `w${n}`,
    endpoint: "eth0",
    interfaceName: w.iface,
    ipNetworks: [`${w.ipv4}/32`, `${w.ipv6}/128`],
    profiles: ["kns.test"],
  },
});

const denyWeb = (ports: number[]) => ({
  apiVersion: API,
  kind: "GlobalNetworkPolicy",
  metadata: { name: "deny-web" },
  spec: {
    selector: "app == 'server'",
    types: ["Ingress"],
    ingress: [{ action: "Deny", protocol: "TCP", destination: { ports } }, { action: "Allow" }],
  },
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-felix-typha-"));
  etcd = await startEtcd();
  kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  const store = new CalicoResourceStore(kv);
  await ensureInitialized(store);
  client = new CalicoClient(store);
  typhaA = await startTestTypha(etcd.endpoint);
  typhaB = await startTestTypha(etcd.endpoint);
  lab = await Lab.create(PREFIX);
  w1 = await lab.addWorkload(PREFIX, 1);
  w2 = await lab.addWorkload(PREFIX, 2);
  await lab.serve(w2, [80, 8080], []);
  forwards.push(await forwardIntoNetns(lab.host, { host: "127.0.0.1", port: typhaA.port }, 5473));
  forwards.push(await forwardIntoNetns(lab.host, { host: "127.0.0.1", port: typhaB.port }, 5474));
  await client.create({
    apiVersion: API,
    kind: "Profile",
    metadata: { name: "kns.test" },
    spec: { ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }] },
  });
  await client.create(wep(w1, 1, { app: "client" }));
  await client.create(wep(w2, 2, { app: "server" }));
}, 90_000);

afterAll(async () => {
  if (felix && felix.exitCode === null) {
    const exited = new Promise((r) => felix?.once("exit", r));
    felix.kill("SIGKILL");
    await exited;
  }
  for (const f of forwards) await f.close();
  await lab?.close();
  await removeAll();
  await typhaA?.close();
  await typhaB?.close();
  await kv?.close();
  await etcd?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function snapshot(): Promise<{ table: string; routes: string }> {
  const table = await lab.host.exec(["nft", "list", "table", "ip", "calico"]);
  const routes = await lab.host.exec(["ip", "route", "show", "proto", "boot"]);
  return { table: table.stdout, routes: routes.stdout };
}

it("enforces policy through Typha and survives its Typha dying without touching the dataplane", async () => {
  await client.create(denyWeb([80]));
  felix = spawn(
    "nsenter",
    [`--net=${lab.host.path}`, process.execPath, FELIX_BIN, "-c", join(dir, "felix.cfg")],
    {
      env: {
        PATH: process.env.PATH,
        FELIX_TYPHAADDR: "127.0.0.1:5473,127.0.0.1:5474",
        FELIX_FELIXHOSTNAME: HOST,
        FELIX_HEALTHENABLED: "true",
        FELIX_LOGFILEPATH: "none",
        FELIX_LOGSEVERITYSYS: "none",
        FELIX_MTUFILEPATH: join(dir, "mtu"),
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  felix.stderr?.on("data", (d: Buffer) => {
    felixLog += d.toString();
  });
  // Felix programs routes (8080 opens) a moment before the policy (80 closes): wait for both.
  await eventually(
    async () => {
      expect(await lab.probe(w1, "tcp", w2.ipv4, 8080)).toBe("open");
      expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("timeout");
    },
    30_000,
    200,
  );
  expect(typhaA.server.connections.map((c) => c.hostname)).toEqual([HOST]);

  const before = await snapshot();
  const chains = before.table.match(/chain \S+/g) ?? [];
  const routes = before.routes.split("\n").filter((l) => l.trim());
  expect(chains.length).toBeGreaterThan(5);
  expect(routes.length).toBe(2);

  // Watch the dataplane through the switch: every chain and route must stay.
  let watching = true;
  const samples: Array<{ table: string; routes: string }> = [];
  const watcher = (async () => {
    while (watching) {
      samples.push(await snapshot());
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await typhaA.close();
  const current = await client.get({ kind: "GlobalNetworkPolicy", name: "deny-web" });
  await client.update({ ...denyWeb([80, 8080]), metadata: current.metadata });
  await eventually(() => expect(typhaB.server.connections.map((c) => c.hostname)).toEqual([HOST]), 20_000);
  await eventually(
    async () => expect(await lab.probe(w1, "tcp", w2.ipv4, 8080)).toBe("timeout"),
    20_000,
    200,
  );
  watching = false;
  await watcher;
  expect(samples.length).toBeGreaterThan(3);
  for (const s of samples) {
    for (const chain of chains) expect(s.table).toContain(chain);
    for (const route of routes) expect(s.routes).toContain(route);
  }
  expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("timeout");
  expect(felixLog).toMatch(/Connected to Typha/);
  expect(felix.exitCode).toBe(null);
}, 120_000);
