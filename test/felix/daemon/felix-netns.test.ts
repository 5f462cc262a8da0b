/**
 * calico-felix as a process in a host namespace, fed by a real etcd: policy written through the
 * Calico client is enforced between real workloads, drift is repaired, a restart keeps
 * established connections and leaves nothing stale, and health/metrics answer.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CalicoClient, ensureInitialized } from "../../../src/client/index.js";
import { CalicoResourceStore, EtcdKV } from "../../../src/datastore/index.js";
import { eventually } from "../../support/datastore.js";
import { type EtcdServer, startEtcd } from "../../support/etcd.js";
import { type Forward, forwardIntoNetns, removeAll } from "../../support/netns.js";
import { Lab, type LabWorkload } from "../dataplane/lab.js";

const PREFIX = "cts-fd";
const HOST = "felixhost";
const API = "projectcalico.org/v3";
const FELIX_BIN = join(import.meta.dirname, "../../../bin/calico-felix");

let etcd: EtcdServer;
let kv: EtcdKV;
let client: CalicoClient;
let lab: Lab;
let fwd: Forward;
let w1: LabWorkload;
let w2: LabWorkload;
let felix: ChildProcess | undefined;
let felixLog = "";
let dir: string;

function etcdTarget(): { host: string; port: number } {
  const url = new URL(etcd.endpoint);
  return { host: url.hostname, port: Number(url.port) };
}

function felixEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    FELIX_ETCDENDPOINTS: fwd.url,
    FELIX_FELIXHOSTNAME: HOST,
    FELIX_HEALTHENABLED: "true",
    FELIX_HEALTHHOST: "127.0.0.1",
    FELIX_PROMETHEUSMETRICSENABLED: "true",
    FELIX_PROMETHEUSMETRICSHOST: "127.0.0.1",
    FELIX_LOGFILEPATH: "none",
    FELIX_MTUFILEPATH: join(dir, "mtu"),
    FELIX_NFTABLESREFRESHINTERVAL: "1",
    ...extra,
  };
}

function startFelixProcess(env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(
    "nsenter",
    [`--net=${lab.host.path}`, process.execPath, FELIX_BIN, "-c", join(dir, "felix.cfg")],
    {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  child.stderr?.on("data", (d: Buffer) => {
    felixLog += d.toString();
  });
  return child;
}

async function stopFelix(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  const child = felix;
  felix = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill(signal);
  return exited;
}

async function hostHttp(port: number, path: string): Promise<{ code: number; body: string }> {
  const script = `fetch("http://127.0.0.1:${port}${path}").then(async (r) => { console.log(r.status); console.log(await r.text()); }, (e) => { console.log(0); console.log(String(e)); })`;
  const out = await lab.host.exec([process.execPath, "-e", script]);
  const [code, ...body] = out.stdout.split("\n");
  return { code: Number(code), body: body.join("\n") };
}

async function calicoTable(): Promise<string> {
  const out = await lab.host.exec(["nft", "list", "table", "ip", "calico"]);
  return out.code === 0 ? out.stdout : "";
}

function wep(w: LabWorkload, n: number, labels: Record<string, string>) {
  return {
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
  };
}

const denyWeb = {
  apiVersion: API,
  kind: "GlobalNetworkPolicy",
  metadata: { name: "deny-web" },
  spec: {
    selector: "app == 'server'",
    types: ["Ingress"],
    ingress: [{ action: "Deny", protocol: "TCP", destination: { ports: [80] } }, { action: "Allow" }],
  },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-felix-"));
  etcd = await startEtcd();
  kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  const store = new CalicoResourceStore(kv);
  await ensureInitialized(store);
  client = new CalicoClient(store);
  lab = await Lab.create(PREFIX);
  w1 = await lab.addWorkload(PREFIX, 1);
  w2 = await lab.addWorkload(PREFIX, 2);
  await lab.serve(w2, [80, 8080], []);
  fwd = await forwardIntoNetns(lab.host, etcdTarget());
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
  await stopFelix("SIGKILL");
  await fwd?.close();
  await lab?.close();
  await removeAll();
  await kv?.close();
  await etcd?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("calico-felix", () => {
  it("refuses a bad parameter with a message naming it, before touching anything", async () => {
    const child = startFelixProcess(felixEnv({ FELIX_HEALTHPORT: "ninety" }));
    const before = felixLog.length;
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    expect(code).toBe(1);
    expect(felixLog.slice(before)).toMatch(/HealthPort.*ninety/);
    expect(await calicoTable()).toBe("");
  });

  it("writes nothing to the kernel until the datastore is in sync", async () => {
    felix = startFelixProcess(felixEnv({ FELIX_ETCDENDPOINTS: "http://127.0.0.1:2391" }));
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await calicoTable()).toBe("");
    const ready = await hostHttp(9099, "/readiness");
    expect(ready.code).toBe(503);
    const late = await forwardIntoNetns(lab.host, etcdTarget(), 2391);
    try {
      await eventually(async () => expect(await calicoTable()).toContain("cali-tw-calitest2"), 20_000, 200);
    } finally {
      await stopFelix();
      await late.close();
    }
  }, 40_000);

  it("enforces policy from the datastore, reports ready, serves metrics", async () => {
    felix = startFelixProcess(felixEnv());
    await eventually(async () => expect((await hostHttp(9099, "/readiness")).code).toBe(200), 20_000, 200);
    expect((await hostHttp(9099, "/liveness")).code).toBe(200);
    expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("open");

    await client.create(denyWeb);
    await eventually(
      async () => expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("timeout"),
      10_000,
      100,
    );
    expect(await lab.probe(w1, "tcp", w2.ipv4, 8080)).toBe("open");
    expect(await lab.probe(w1, "tcp", w2.ipv6, 80)).toBe("timeout");

    const metrics = await hostHttp(9091, "/metrics");
    expect(metrics.code).toBe(200);
    expect(metrics.body).toMatch(/^felix_active_local_endpoints 2$/m);
    expect(metrics.body).toMatch(/^felix_resync_state 3$/m);
    expect(metrics.body).toMatch(/^felix_cluster_num_workload_endpoints 2$/m);
    expect(metrics.body).toMatch(/^felix_int_dataplane_apply_time_seconds_count [1-9]/m);
    expect(metrics.body).toMatch(/^felix_nft_calls [1-9]/m);
  }, 60_000);

  it("programs an endpoint whose interface appears after it, as soon as it appears", async () => {
    // No periodic resync during the test: only the interface monitor can notice the interface.
    expect(await stopFelix()).toBe(0);
    felix = startFelixProcess(
      felixEnv({ FELIX_NFTABLESREFRESHINTERVAL: "600", FELIX_ROUTEREFRESHINTERVAL: "600" }),
    );
    await eventually(async () => expect((await hostHttp(9099, "/readiness")).code).toBe(200), 20_000, 200);
    await client.create(
      wep({ iface: "calitest3", ipv4: "10.240.0.3", ipv6: "fd00:240::3" } as LabWorkload, 3, { app: "late" }),
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const w3 = await lab.addWorkload(PREFIX, 3);
    await eventually(
      async () => {
        const routes = (await lab.host.execOk(["ip", "route", "show", "proto", "boot"])).stdout;
        expect(routes).toContain("10.240.0.3 dev calitest3");
      },
      5_000,
      50,
    );
    const proxyArp = await lab.host.execOk(["cat", "/proc/sys/net/ipv4/conf/calitest3/proxy_arp"]);
    expect(proxyArp.stdout.trim()).toBe("1");
    await eventually(async () => expect(await lab.probe(w3, "tcp", w2.ipv4, 8080)).toBe("open"), 5_000, 100);
    expect(await stopFelix()).toBe(0);
    felix = startFelixProcess(felixEnv());
    await eventually(async () => expect((await hostHttp(9099, "/readiness")).code).toBe(200), 20_000, 200);
  }, 60_000);

  it("repairs drift on the periodic resync", async () => {
    // Without the resync the deleted table would stay deleted and port 80 would stay open.
    await lab.host.execOk(["nft", "delete", "table", "ip", "calico"]);
    await eventually(
      async () => expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("timeout"),
      10_000,
      200,
    );
  }, 20_000);

  it("restarts without breaking established connections or leaving stale state", async () => {
    await lab.serveEcho(w2, 9000);
    const conn = await lab.openEchoConnection(w1, w2.ipv4, 9000);
    try {
      expect(await conn.roundTrip()).toBe(true);
      expect(await stopFelix("SIGKILL")).toBe(null);
      await client.delete({ kind: "GlobalNetworkPolicy", name: "deny-web" });
      expect(await conn.roundTrip()).toBe(true);
      const staleChains = (await calicoTable()).match(/chain filter-cali-pi-\S+/g) ?? [];
      expect(staleChains.length).toBeGreaterThan(0);

      felix = startFelixProcess(felixEnv());
      await eventually(async () => expect((await hostHttp(9099, "/readiness")).code).toBe(200), 20_000, 200);
      await eventually(async () => expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("open"), 10_000, 200);
      const table = await calicoTable();
      for (const chain of staleChains) expect(table).not.toContain(chain);
      expect(await conn.roundTrip()).toBe(true);
      expect(conn.broken()).toBe(false);
    } finally {
      conn.close();
    }
  }, 60_000);

  it("stops on SIGTERM with exit 0 and leaves the dataplane in place", async () => {
    expect(await stopFelix("SIGTERM")).toBe(0);
    expect(await calicoTable()).toContain("cali-tw-calitest2");
    expect(await lab.probe(w1, "tcp", w2.ipv4, 8080)).toBe("open");
  }, 20_000);

  it("switches to iptables + ipsets with NFTablesMode=Disabled, leaving no nftables table", async () => {
    await client.create(denyWeb);
    felix = startFelixProcess(felixEnv({ FELIX_NFTABLESMODE: "Disabled" }));
    await eventually(async () => expect((await hostHttp(9099, "/readiness")).code).toBe(200), 20_000, 200);
    const saved = (await lab.host.execOk(["iptables-save", "-t", "filter"])).stdout;
    expect(saved).toContain(":cali-tw-calitest2");
    expect(saved).toMatch(/^-A FORWARD -m comment --comment "cali:[\w-]+" -j cali-FORWARD$/m);
    expect(await calicoTable()).toBe("");
    expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("timeout");
    expect(await lab.probe(w1, "tcp", w2.ipv4, 8080)).toBe("open");
    expect(await stopFelix()).toBe(0);
  }, 40_000);
});
