/**
 * EtcdHttpKV (the JSON-gateway client) with TLS client certificates, with password
 * authentication and over a unix socket, on real etcds: what the CNI plugins rely on.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatastoreUnavailableError } from "../../src/datastore/errors.js";
import { EtcdHttpKV } from "../../src/datastore/etcd-http/index.js";
import { type EtcdServer, freePort, startEtcd } from "../support/etcd.js";
import { startTlsEtcd, type TlsEtcd } from "../support/etcd-tls.js";

const run = promisify(execFile);

describe("EtcdHttpKV over TLS", () => {
  let etcd: TlsEtcd;
  beforeAll(async () => {
    etcd = await startTlsEtcd();
  });
  afterAll(async () => {
    await etcd.stop();
  });

  it("connects with certificate files", async () => {
    const kv = new EtcdHttpKV({
      endpoints: [etcd.endpoint],
      tls: { caCertFile: etcd.pki.ca, certFile: etcd.pki.clientCert, keyFile: etcd.pki.clientKey },
    });
    await kv.put("/calico/tls/files", "ok");
    expect((await kv.get("/calico/tls/files"))?.value).toBe("ok");
    await kv.close();
  });

  it("connects with inline PEM and watches over TLS", async () => {
    const kv = new EtcdHttpKV({
      endpoints: [etcd.endpoint],
      tls: {
        caCert: await readFile(etcd.pki.ca, "utf8"),
        cert: await readFile(etcd.pki.clientCert, "utf8"),
        key: await readFile(etcd.pki.clientKey, "utf8"),
      },
    });
    const from = (await kv.list("/calico/tls/")).revision;
    const seen: string[] = [];
    const w = kv.watch("/calico/tls/", from, { onEvent: (e) => seen.push(e.type), onError: () => {} });
    await kv.put("/calico/tls/inline", "ok");
    await expect.poll(() => seen).toEqual(["put"]);
    await w.close();
    expect((await kv.list("/calico/tls/")).kvs.map((k) => k.key)).toEqual([
      "/calico/tls/files",
      "/calico/tls/inline",
    ]);
    await kv.close();
  });

  it("fails, naming the endpoint, without a client certificate", async () => {
    const kv = new EtcdHttpKV({
      endpoints: [etcd.endpoint],
      tls: { caCertFile: etcd.pki.ca },
      requestTimeoutMs: 2_000,
    });
    const err = await kv.get("/calico/tls/files").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatastoreUnavailableError);
    expect((err as Error).message).toContain(etcd.endpoint);
    await kv.close();
  });

  it("refuses a server its CA did not sign", async () => {
    const kv = new EtcdHttpKV({ endpoints: [etcd.endpoint], requestTimeoutMs: 2_000 });
    await expect(kv.get("/calico/tls/files")).rejects.toThrow(etcd.endpoint);
    await kv.close();
  });

  it("reports an unreadable certificate file by name", () => {
    expect(
      () => new EtcdHttpKV({ endpoints: [etcd.endpoint], tls: { caCertFile: "/nonexistent/ca.pem" } }),
    ).toThrow("failed to read etcd CA certificate file /nonexistent/ca.pem");
  });
});

describe("EtcdHttpKV with password authentication", () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    // Tokens expire after 1 s unused, so a test can see one expire.
    etcd = await startEtcd({ extraArgs: ["--auth-token-ttl", "1"] });
    const ctl = (...args: string[]) =>
      run("etcdctl", ["--endpoints", etcd.endpoint, ...args], { env: { ...process.env, ETCDCTL_API: "3" } });
    await ctl("user", "add", "root", "--new-user-password=rootpw");
    await ctl("auth", "enable");
  });
  afterAll(async () => {
    await etcd.stop();
  });

  it("authenticates and uses its token for reads, writes, batches and watches", async () => {
    const kv = new EtcdHttpKV({ endpoints: [etcd.endpoint], username: "root", password: "rootpw" });
    const rev = await kv.put("/calico/auth/x", "1");
    expect((await kv.get("/calico/auth/x"))?.value).toBe("1");
    const committed = await kv.commit(
      [{ key: "/calico/auth/x", modRevision: rev }],
      [{ type: "put", key: "/calico/auth/x", value: "2" }],
    );
    expect(committed.succeeded).toBe(true);
    expect((await kv.readMany([{ prefix: "/calico/auth/" }])).results[0]!.map((k) => k.value)).toEqual(["2"]);
    const seen: string[] = [];
    const w = kv.watch("/calico/auth/", committed.revision, {
      onEvent: (e) => seen.push(e.type),
      onError: () => {},
    });
    await kv.delete("/calico/auth/x");
    await expect.poll(() => seen).toEqual(["delete"]);
    await w.close();
    await kv.close();
  });

  it("fetches a new token when etcd says the old one expired", async () => {
    const kv = new EtcdHttpKV({ endpoints: [etcd.endpoint], username: "root", password: "rootpw" });
    await kv.put("/calico/auth/ttl", "before");
    await new Promise((r) => setTimeout(r, 3_000));
    await kv.put("/calico/auth/ttl", "after");
    expect((await kv.get("/calico/auth/ttl"))?.value).toBe("after");
    await kv.close();
  });

  it("is refused with a wrong password or none", async () => {
    const wrong = new EtcdHttpKV({ endpoints: [etcd.endpoint], username: "root", password: "nope" });
    await expect(wrong.get("/calico/auth/x")).rejects.toThrow(/authentication failed/);
    await wrong.close();
    const anonymous = new EtcdHttpKV({ endpoints: [etcd.endpoint] });
    await expect(anonymous.get("/calico/auth/x")).rejects.toThrow(/user name is empty|permission denied/);
    await anonymous.close();
  });
});

describe("EtcdHttpKV endpoints", () => {
  let etcd: EtcdServer;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "calico-ts-etcd-sock-"));
    etcd = await startEtcd({ unixSocketIn: dir });
  });
  afterAll(async () => {
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("talks to etcd over a unix socket", async () => {
    const kv = new EtcdHttpKV({ endpoints: [`unix://${join(dir, "etcd.sock:0")}`] });
    await kv.put("/calico/unix/x", "over the socket");
    expect((await kv.get("/calico/unix/x"))?.value).toBe("over the socket");
    await kv.close();
  });

  it("fails over to the next endpoint when the first does not answer", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const kv = new EtcdHttpKV({ endpoints: [dead, etcd.endpoint] });
    await kv.put("/calico/failover/x", "1");
    expect((await kv.get("/calico/failover/x"))?.value).toBe("1");
    await kv.close();
  });

  it("reports unreachable etcd as DatastoreUnavailableError naming every endpoint", async () => {
    const a = `http://127.0.0.1:${await freePort()}`;
    const b = `unix://${join(dir, "nothing.sock")}`;
    const kv = new EtcdHttpKV({ endpoints: [a, b] });
    const err = await kv.get("/x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatastoreUnavailableError);
    expect((err as Error).message).toContain(`cannot reach etcd at ${a},${b}`);
    await kv.close();
  });

  it("rejects endpoints it cannot use", () => {
    expect(() => new EtcdHttpKV({ endpoints: ["ftp://x:1"] })).toThrow(/expected http, https or unix/);
    expect(() => new EtcdHttpKV({ endpoints: ["http://a:1", "https://b:2"] })).toThrow(
      /all http or all https/,
    );
  });
});
