/** EtcdKV with TLS client certificates and with password authentication, on real etcds. */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadClientConfigFromEnv } from "../../src/datastore/config.js";
import { EtcdKV } from "../../src/datastore/etcd/etcd-kv.js";
import { openDatastore } from "../../src/datastore/open.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { startTlsEtcd, type TlsEtcd } from "../support/etcd-tls.js";

const run = promisify(execFile);

describe("EtcdKV over TLS", () => {
  let etcd: TlsEtcd;
  beforeAll(async () => {
    etcd = await startTlsEtcd();
  });
  afterAll(async () => {
    await etcd.stop();
  });

  it("connects with certificate files from the environment", async () => {
    const store = await openDatastore(
      loadClientConfigFromEnv({
        ETCD_ENDPOINTS: etcd.endpoint,
        ETCD_CA_CERT_FILE: etcd.pki.ca,
        ETCD_CERT_FILE: etcd.pki.clientCert,
        ETCD_KEY_FILE: etcd.pki.clientKey,
      }),
    );
    await store.kv.put("/calico/tls/files", "ok");
    expect((await store.kv.get("/calico/tls/files"))?.value).toBe("ok");
    await store.close();
  });

  it("connects with inline PEM", async () => {
    const kv = new EtcdKV({
      endpoints: [etcd.endpoint],
      tls: {
        caCert: await readFile(etcd.pki.ca, "utf8"),
        cert: await readFile(etcd.pki.clientCert, "utf8"),
        key: await readFile(etcd.pki.clientKey, "utf8"),
      },
    });
    await kv.put("/calico/tls/inline", "ok");
    expect((await kv.list("/calico/tls/")).kvs.map((k) => k.key)).toEqual([
      "/calico/tls/files",
      "/calico/tls/inline",
    ]);
    await kv.close();
  });

  it("fails without a client certificate", async () => {
    const kv = new EtcdKV({
      endpoints: [etcd.endpoint],
      tls: { caCertFile: etcd.pki.ca },
      requestTimeoutMs: 2_000,
    });
    await expect(kv.get("/calico/tls/files")).rejects.toThrow(etcd.endpoint);
    await kv.close();
  });

  it("reports an unreadable certificate file by name", () => {
    expect(
      () => new EtcdKV({ endpoints: [etcd.endpoint], tls: { caCertFile: "/nonexistent/ca.pem" } }),
    ).toThrow("failed to read etcd CA certificate file /nonexistent/ca.pem");
  });
});

describe("EtcdKV with password authentication", () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
    const ctl = (...args: string[]) =>
      run("etcdctl", ["--endpoints", etcd.endpoint, ...args], { env: { ...process.env, ETCDCTL_API: "3" } });
    await ctl("user", "add", "root", "--new-user-password=rootpw");
    await ctl("auth", "enable");
  });
  afterAll(async () => {
    await etcd.stop();
  });

  it("authenticates with ETCD_USERNAME and ETCD_PASSWORD", async () => {
    const store = await openDatastore(
      loadClientConfigFromEnv({
        ETCD_ENDPOINTS: etcd.endpoint,
        ETCD_USERNAME: "root",
        ETCD_PASSWORD: "rootpw",
      }),
    );
    await store.kv.put("/calico/auth/x", "1");
    expect((await store.kv.get("/calico/auth/x"))?.value).toBe("1");
    await store.close();
  });

  it("is refused with a wrong password or none", async () => {
    const wrong = new EtcdKV({ endpoints: [etcd.endpoint], username: "root", password: "nope" });
    await expect(wrong.get("/calico/auth/x")).rejects.toThrow(/authentication failed/);
    await wrong.close();
    const anonymous = new EtcdKV({ endpoints: [etcd.endpoint] });
    await expect(anonymous.get("/calico/auth/x")).rejects.toThrow(/user name is empty|permission denied/);
    await anonymous.close();
  });
});
