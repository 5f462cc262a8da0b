/**
 * Typha at scale: one calico-typha process serving 1,000 connected clients — time from an etcd
 * write until the last client has it (median, p99; goal p99 ≤ 100 ms) against one direct etcd
 * syncer seeing the same write; Typha's memory per connected client against what each client
 * holds itself; and the watchers etcd carries for 10 nodes' Felix and confd with and without
 * Typha.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import {
  AFFINITY_ROOT,
  bgpSources,
  CalicoResourceStore,
  EtcdKV,
  felixSources,
  Syncer,
  type SyncUpdate,
} from "../src/datastore/index.js";
import { TyphaSyncClient } from "../src/typha/index.js";
import { type EtcdServer, freePort, startEtcd } from "../test/support/etcd.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const CLIENTS = 1_000;
const WORKERS = 4;
/** Workers do not inherit tsx's loader: register it in the worker, then load the TypeScript. */
const WORKER_BOOT = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((tsx) => {
  tsx.register();
  return import(${JSON.stringify(new URL("./typha-clients.worker.ts", import.meta.url).href)});
});`;
const SAMPLES = 60;
const BIN = join(import.meta.dirname, "../bin/calico-typha");
const POOL_KEY = "/calico/resources/v3/projectcalico.org/ippools/bench";

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? Number.NaN);
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function etcdWatchers(etcd: EtcdServer): Promise<number> {
  const text = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

async function startTyphaProcess(etcd: EtcdServer): Promise<{ child: ChildProcess; port: number }> {
  const [port, health] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [BIN, "-c", "/nonexistent/typha.cfg"], {
    env: {
      PATH: process.env.PATH,
      TYPHA_ETCDENDPOINTS: etcd.endpoint,
      TYPHA_SERVERHOST: "127.0.0.1",
      TYPHA_SERVERPORT: String(port),
      TYPHA_HEALTHENABLED: "true",
      TYPHA_HEALTHHOST: "127.0.0.1",
      TYPHA_HEALTHPORT: String(health),
      TYPHA_LOGSEVERITYSCREEN: "Warning",
      TYPHA_LOGFILEPATH: "none",
      TYPHA_LOGSEVERITYSYS: "none",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const end = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${health}/readiness`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > end) throw new Error("calico-typha did not become ready");
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port };
}

/** Wall-clock ms, comparable across worker threads. */
const now = () => performance.timeOrigin + performance.now();

/** Calls `onValue` with the CIDR and arrival time of every update to the bench pool. */
function watchKey(onValue: (cidr: string, at: number) => void): (updates: SyncUpdate[]) => void {
  return (updates) => {
    const at = now();
    for (const u of updates)
      if (u.key === POOL_KEY && u.value) onValue((u.value as { spec: { cidr: string } }).spec.cidr, at);
  };
}

async function fanOut(etcd: EtcdServer): Promise<Figure[]> {
  const admin = new EtcdKV({ endpoints: [etcd.endpoint] });
  const store = new CalicoResourceStore(admin);
  // Some state, so snapshots and stores are not trivially small: 200 policies, 50 pools.
  for (let i = 0; i < 200; i++)
    await store.create({
      apiVersion: "projectcalico.org/v3",
      kind: "GlobalNetworkPolicy",
      metadata: { name: `p${i}` },
      spec: {
        order: i,
        selector: `app == 'a${i}'`,
        ingress: [{ action: "Allow", source: { selector: "all()" } }],
      },
    });
  for (let i = 0; i < 50; i++)
    await store.create({
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: `pool${i}` },
      spec: { cidr: `10.${i}.0.0/16` },
    });
  const created = await store.create({
    apiVersion: "projectcalico.org/v3",
    kind: "IPPool",
    metadata: { name: "bench" },
    spec: { cidr: "10.200.0.0/16" },
  });
  const { child, port } = await startTyphaProcess(etcd);
  const workers: Worker[] = [];
  const directKV = new EtcdKV({ endpoints: [etcd.endpoint] });
  let direct: Syncer | undefined;
  try {
    const idleRss = rssKiB(child.pid as number);
    // Clients in worker threads, each group on its own heap as real Felixes would be.
    const connected: Array<Promise<number>> = [];
    const per = CLIENTS / WORKERS;
    let done = new Set<Worker>();
    let lastAt = 0;
    let wake: () => void = () => undefined;
    for (let w = 0; w < WORKERS; w++) {
      const worker = new Worker(WORKER_BOOT, {
        eval: true,
        workerData: { port, count: per, first: w * per },
      });
      workers.push(worker);
      connected.push(
        new Promise((resolve) => {
          worker.on("message", (msg: { type: string; heapPerClient?: number; lastAt?: number }) => {
            if (msg.type === "connected") resolve(msg.heapPerClient ?? Number.NaN);
            if (msg.type === "all") {
              done.add(worker);
              lastAt = Math.max(lastAt, msg.lastAt ?? 0);
              if (done.size === WORKERS) wake();
            }
          });
        }),
      );
    }
    const heaps = await Promise.race([
      Promise.all(connected),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("clients did not connect")), 180_000),
      ),
    ]);
    const clientHeapKiB = heaps.reduce((x, y) => x + y, 0) / heaps.length / 1024;
    await new Promise((r) => setTimeout(r, 1_000));
    const busyRss = rssKiB(child.pid as number);
    let inSync = false;
    let want = "";
    let directAt = 0;
    direct = new Syncer(directKV, felixSources(), {
      onStatus: (s) => {
        if (s === "InSync") inSync = true;
      },
      onUpdates: watchKey((cidr, at) => {
        if (cidr === want) directAt = at;
      }),
    });
    direct.start();
    await until(() => inSync, 30_000, "direct syncer in sync");

    const lastClient: number[] = [];
    const oneSyncer: number[] = [];
    let current = created;
    for (let s = 0; s < SAMPLES; s++) {
      want = `10.${201 + (s % 50)}.0.0/16`;
      done = new Set();
      lastAt = 0;
      directAt = 0;
      for (const w of workers) w.postMessage({ type: "want", want });
      const all = new Promise<void>((resolve) => {
        wake = resolve;
      });
      await new Promise((r) => setTimeout(r, 20));
      const t0 = now();
      current = await store.update({
        ...current,
        spec: { ...(current.spec as object), cidr: want },
      } as typeof current);
      await Promise.race([
        all,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`sample ${s} timed out`)), 30_000),
        ),
      ]);
      await until(() => directAt > 0, 30_000, `direct syncer, sample ${s}`);
      lastClient.push(lastAt - t0);
      oneSyncer.push(directAt - t0);
    }
    const fan = percentiles(lastClient);
    const base = percentiles(oneSyncer);
    return [
      {
        name: `etcd write → last of ${CLIENTS} Typha clients has it, median`,
        value: fan.median,
        unit: "ms",
        baseline: { name: "one direct etcd syncer", value: base.median },
      },
      {
        name: `etcd write → last of ${CLIENTS} Typha clients has it, p99`,
        value: fan.p99,
        unit: "ms",
        baseline: { name: "one direct etcd syncer", value: base.p99 },
        goal: "≤ 100 ms",
      },
      {
        name: "Typha memory (RSS) per connected client",
        value: (busyRss - idleRss) / CLIENTS,
        unit: "KiB",
        baseline: { name: "client-side heap per Typha client", value: clientHeapKiB },
      },
      {
        name: `Typha RSS with ${CLIENTS} clients`,
        value: busyRss / 1024,
        unit: "MiB",
        baseline: { name: "Typha RSS with no client", value: idleRss / 1024 },
      },
    ];
  } finally {
    for (const w of workers) w.postMessage({ type: "stop" });
    await Promise.all(
      workers.map((w) => (w.threadId === -1 ? undefined : new Promise((r) => w.once("exit", r)))),
    );
    await direct?.stop();
    await directKV.close();
    child.kill("SIGKILL");
    await admin.close();
  }
}

/** 10 nodes: each Felix and each confd watching etcd directly, or all 20 through one Typha. */
async function watchers(etcd: EtcdServer): Promise<Figure[]> {
  const NODES = 10;
  const base = await etcdWatchers(etcd);
  const kvs: EtcdKV[] = [];
  const syncers: Syncer[] = [];
  let synced = 0;
  for (let n = 1; n <= NODES; n++) {
    const kv = new EtcdKV({ endpoints: [etcd.endpoint] });
    kvs.push(kv);
    const cb = { onStatus: (s: string) => void (s === "InSync" && synced++), onUpdates: () => undefined };
    syncers.push(
      new Syncer(kv, felixSources(), cb),
      new Syncer(kv, bgpSources(`${AFFINITY_ROOT}node${n}/`), cb),
    );
  }
  for (const s of syncers) s.start();
  await until(() => synced === syncers.length, 60_000, "direct syncers in sync");
  await new Promise((r) => setTimeout(r, 500));
  const direct = (await etcdWatchers(etcd)) - base;
  for (const s of syncers) await s.stop();
  for (const kv of kvs) await kv.close();
  await new Promise((r) => setTimeout(r, 1_000));

  const before = await etcdWatchers(etcd);
  const { child, port } = await startTyphaProcess(etcd);
  const clients: TyphaSyncClient[] = [];
  try {
    let inSync = 0;
    for (let n = 1; n <= NODES; n++)
      for (const syncerType of ["felix", "bgp"] as const) {
        const c = new TyphaSyncClient(
          { addresses: [`127.0.0.1:${port}`], syncerType, hostname: `node${n}` },
          { onStatus: (s) => void (s === "InSync" && inSync++), onUpdates: () => undefined },
        );
        c.start();
        clients.push(c);
      }
    await until(() => inSync === clients.length, 60_000, "Typha clients in sync");
    const withTypha = (await etcdWatchers(etcd)) - before;
    return [
      {
        name: `etcd watchers for ${NODES} nodes' Felix + confd, through one Typha`,
        value: withTypha,
        unit: "watches",
        baseline: { name: "each watching etcd directly", value: direct },
      },
    ];
  } finally {
    for (const c of clients) await c.stop();
    child.kill("SIGKILL");
  }
}

const bench: BenchModule = {
  title: "Typha fan-out",
  async run() {
    const etcd = await startEtcd();
    try {
      return [...(await watchers(etcd)), ...(await fanOut(etcd))];
    } finally {
      await etcd.stop();
    }
  },
};

export default bench;
