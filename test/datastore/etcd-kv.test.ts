/** EtcdKV behaviour that only a real server shows: unreachable endpoints and lost watches. */
import { execFile } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatastoreUnavailableError } from "../../src/datastore/errors.js";
import { EtcdKV } from "../../src/datastore/etcd/etcd-kv.js";
import { CalicoResourceStore } from "../../src/datastore/resources/store.js";
import { collectWatch, eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

const run = promisify(execFile);

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe("EtcdKV against an unreachable etcd", () => {
  it("fails fast with the endpoint in the message when nothing listens", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const kv = new EtcdKV({ endpoints: [endpoint] });
    const started = Date.now();
    const err = await kv.get("/calico/x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatastoreUnavailableError);
    expect((err as Error).message).toContain(`cannot reach etcd at ${endpoint}`);
    expect(Date.now() - started).toBeLessThan(3_000);
    await kv.close();
  });

  it("gives up after the request timeout when the server accepts but never answers", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const kv = new EtcdKV({ endpoints: [endpoint], requestTimeoutMs: 800 });
    const started = Date.now();
    const err = await kv.list("/calico/").catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(DatastoreUnavailableError);
    expect((err as Error).message).toContain(endpoint);
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(elapsed).toBeLessThan(3_000);
    await kv.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  it("ends a watch with DatastoreUnavailableError", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const kv = new EtcdKV({ endpoints: [endpoint] });
    const w = collectWatch(kv, "/calico/", "0");
    await eventually(() => expect(w.errors).toHaveLength(1));
    expect(w.errors[0]).toBeInstanceOf(DatastoreUnavailableError);
    await w.close();
    await kv.close();
  });
});

describe("EtcdKV against a running etcd", () => {
  let etcd: EtcdServer;
  let kv: EtcdKV;
  beforeAll(async () => {
    etcd = await startEtcd();
    kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  });
  afterAll(async () => {
    await kv.close();
    await etcd.stop();
  });

  it("writes keys and values that etcdctl reads back verbatim", async () => {
    await kv.create("/calico/raw/key", '{"a":1}');
    const { stdout } = await run("etcdctl", ["--endpoints", etcd.endpoint, "get", "/calico/raw/key"], {
      env: { ...process.env, ETCDCTL_API: "3" },
    });
    expect(stdout).toBe('/calico/raw/key\n{"a":1}\n');
  });

  it("stores resources at Calico's key with Calico's JSON, as etcdctl sees them", async () => {
    const store = new CalicoResourceStore(kv);
    await store.create({
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "default-ipv4-ippool", uid: "3f6c", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: { cidr: "192.168.0.0/16", ipipMode: "Always", natOutgoing: true, blockSize: 26 },
    });
    const { stdout } = await run(
      "etcdctl",
      ["--endpoints", etcd.endpoint, "get", "--prefix", "/calico/resources/v3/projectcalico.org/ippools/"],
      { env: { ...process.env, ETCDCTL_API: "3" } },
    );
    expect(stdout).toBe(
      "/calico/resources/v3/projectcalico.org/ippools/default-ipv4-ippool\n" +
        '{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"default-ipv4-ippool","uid":"3f6c",' +
        '"creationTimestamp":"2026-01-01T00:00:00Z"},"spec":{"cidr":"192.168.0.0/16","ipipMode":"Always",' +
        '"natOutgoing":true,"blockSize":26}}\n',
    );
  });

  it("closes a watch whose stream has not opened yet without an unhandled error", async () => {
    const watches = Array.from({ length: 20 }, (_, i) =>
      kv.watch(`/calico/early/${i}/`, "0", { onEvent: () => undefined, onError: () => undefined }),
    );
    await Promise.all(watches.map((w) => w.close()));
    // The streams open and are cancelled after close(); give them time to do so.
    await new Promise((r) => setTimeout(r, 200));
    await kv.put("/calico/early/0/x", "still serving");
    expect((await kv.get("/calico/early/0/x"))?.value).toBe("still serving");
  });

  it("tries the next endpoint when the first is down", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const multi = new EtcdKV({ endpoints: [dead, etcd.endpoint] });
    for (let i = 0; i < 5; i++) {
      await multi.put(`/calico/multi/${i}`, "v");
    }
    expect((await multi.list("/calico/multi/")).kvs).toHaveLength(5);
    await multi.close();
  });

  it("ends a watch when the connection drops, and serves again once it is back", async () => {
    const proxy = await startTcpProxy(etcd.endpoint);
    const client = new EtcdKV({ endpoints: [proxy.endpoint] });
    await client.put("/calico/w/a", "1");
    const w = collectWatch(client, "/calico/w/", (await client.list("/calico/w/")).revision);
    await new Promise((r) => setTimeout(r, 100));
    proxy.cut();
    await eventually(() => expect(w.errors).toHaveLength(1));
    expect(w.errors[0]).toBeInstanceOf(DatastoreUnavailableError);
    await expect(client.get("/calico/w/a")).rejects.toBeInstanceOf(DatastoreUnavailableError);
    proxy.restore();
    await eventually(async () => expect((await client.get("/calico/w/a"))?.value).toBe("1"), 5_000, 100);
    await w.close();
    await client.close();
    await proxy.close();
  });
});
