/**
 * Mutual TLS between Typha and its clients with certificates made by openssl: a client with the
 * required CN (or URI SAN) is served; a wrong CN, a wrong URI SAN, no certificate, and a plain-text
 * client are refused (and Typha logs why); the client refuses a Typha whose certificate lacks the
 * required CN; a plain-text client gets a clear error.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import { type ClientTls, TyphaSyncClient, typhaClientSettings } from "../../src/typha/index.js";
import { eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { issueCert, makeCA } from "../support/pki.js";
import { type StoreRecorder, startTestTypha, storeRecorder, type TestTypha } from "../support/typha.js";

let dir: string;
let etcd: EtcdServer;
let typha: TestTypha;
const logLines: string[] = [];

const issue = (name: string, subject: string, ext: string) => issueCert(dir, name, subject, ext);

const file = (name: string) => readFileSync(join(dir, name));

function clientTls(name: string, serverCN = "typha-server"): ClientTls {
  return {
    ca: file("ca.pem"),
    cert: file(`${name}.pem`),
    key: file(`${name}.key`),
    serverCN,
    serverURISAN: "",
  };
}

const cleanups: Array<() => Promise<void>> = [];

function connect(tls: ClientTls | undefined): { client: TyphaSyncClient; rec: StoreRecorder } {
  const rec = storeRecorder();
  const client = new TyphaSyncClient(
    {
      addresses: [typha.address],
      syncerType: "felix",
      hostname: "tls-test",
      retryPauseMs: 100,
      ...(tls ? { tls } : {}),
    },
    rec,
  );
  client.start();
  cleanups.push(() => client.stop());
  return { client, rec };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-typha-pki-"));
  await makeCA(dir, "typha-test-ca");
  await issue("server", "/CN=typha-server", "extendedKeyUsage=serverAuth\n");
  await issue("felix", "/CN=typha-client", "extendedKeyUsage=clientAuth\n");
  await issue("wrongcn", "/CN=somebody-else", "extendedKeyUsage=clientAuth\n");
  await issue(
    "spiffe",
    "/CN=by-uri",
    "extendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://cluster.local/ns/calico-system/sa/calico-node\n",
  );
  await issue(
    "wronguri",
    "/CN=by-uri",
    "extendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://cluster.local/ns/other/sa/x\n",
  );
  etcd = await startEtcd();
  const admin = new EtcdKV({ endpoints: [etcd.endpoint] });
  await new CalicoResourceStore(admin).create({
    apiVersion: "projectcalico.org/v3",
    kind: "IPPool",
    metadata: { name: "p" },
    spec: { cidr: "10.60.0.0/16" },
  });
  await admin.close();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  typha = await startTestTypha(
    etcd.endpoint,
    {},
    {
      ca: file("ca.pem"),
      cert: file("server.pem"),
      key: file("server.key"),
      clientCN: "typha-client",
      clientURISAN: "spiffe://cluster.local/ns/calico-system/sa/calico-node",
    },
    pino({ level: "info" }, sink),
  );
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
  await typha?.close();
  await etcd?.stop();
  await rm(dir, { recursive: true, force: true });
});

const POOL = "/calico/resources/v3/projectcalico.org/ippools/p";

describe("Typha with mutual TLS", () => {
  it("serves a client whose certificate has the required CN", async () => {
    const { rec } = connect(clientTls("felix"));
    await eventually(() => expect(rec.store.has(POOL)).toBe(true), 10_000);
  });

  it("serves a client whose certificate has the required URI SAN", async () => {
    const { rec } = connect(clientTls("spiffe"));
    await eventually(() => expect(rec.store.has(POOL)).toBe(true), 10_000);
  });

  it.each([
    [
      "wrong CN",
      "wrongcn",
      /does not have required CN or URI SAN \(CN 'somebody-else'.*Refused client: certificate does not match/,
    ],
    [
      "wrong URI SAN",
      "wronguri",
      /URI SANs \[spiffe:\/\/cluster.local\/ns\/other\/sa\/x\].*Refused client: certificate does not match/,
    ],
  ])("refuses a client with a %s and logs why", async (_what, name, logged) => {
    const before = logLines.length;
    const served = typha.server.connections.length;
    const { client, rec } = connect(clientTls(name));
    await eventually(() => expect(logLines.slice(before).join("")).toMatch(logged), 10_000);
    await eventually(() => expect(client.lastError).toBeDefined(), 10_000);
    expect(rec.store.size).toBe(0);
    expect(typha.server.connections.length).toBe(served);
  });

  it("refuses a client without a certificate, and logs it", async () => {
    const before = logLines.length;
    const socket = tlsConnect({
      host: "127.0.0.1",
      port: typha.port,
      ca: file("ca.pem"),
      checkServerIdentity: () => undefined,
    });
    socket.on("error", () => undefined);
    socket.on("data", () => undefined);
    await new Promise<void>((r) => socket.once("close", () => r()));
    await eventually(
      () => expect(logLines.slice(before).join("")).toMatch(/Refused client: TLS handshake failed/),
      10_000,
    );
  });

  it("gives a plain-text client a clear error, and logs it", async () => {
    const before = logLines.length;
    const { client, rec } = connect(undefined);
    await eventually(
      () =>
        expect(client.lastError?.message).toMatch(
          /closed the connection during the handshake \(if it requires TLS, set TyphaCAFile, TyphaCertFile, TyphaKeyFile and TyphaCN or TyphaURISAN\)/,
        ),
      10_000,
    );
    expect(logLines.slice(before).join("")).toMatch(
      /wrong version number.*Refused client: TLS handshake failed/,
    );
    expect(rec.store.size).toBe(0);
  });

  it("refuses a Typha whose certificate lacks the CN the client requires", async () => {
    const { client, rec } = connect(clientTls("felix", "another-typha"));
    await eventually(
      () =>
        expect(client.lastError?.message).toMatch(/peer certificate does not have required CN.*typha-server/),
      10_000,
    );
    expect(rec.store.size).toBe(0);
  });

  it("reads Calico's client parameters, naming an unreadable file", () => {
    const s = typhaClientSettings({
      TyphaAddr: typha.address,
      TyphaCAFile: join(dir, "ca.pem"),
      TyphaCertFile: join(dir, "felix.pem"),
      TyphaKeyFile: join(dir, "felix.key"),
      TyphaCN: "typha-server",
    });
    expect(s?.tls?.serverCN).toBe("typha-server");
    expect(() =>
      typhaClientSettings({
        TyphaAddr: typha.address,
        TyphaCAFile: join(dir, "missing.pem"),
        TyphaCertFile: join(dir, "felix.pem"),
        TyphaKeyFile: join(dir, "felix.key"),
        TyphaCN: "typha-server",
      }),
    ).toThrow(/TyphaCAFile.*missing.pem/);
  });
});
