/**
 * A real etcd serving TLS with client-certificate authentication, and the throwaway PKI for it
 * (made with openssl): a CA, a server certificate for 127.0.0.1, and a client certificate.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EtcdServer, startEtcd } from "./etcd.js";
import { issueCert, makeCA } from "./pki.js";

export interface TestPKI {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export async function makePKI(): Promise<TestPKI> {
  const dir = await mkdtemp(join(tmpdir(), "calico-ts-pki-"));
  await makeCA(dir, "calico-ts-test-ca");
  await issueCert(
    dir,
    "server",
    "/CN=127.0.0.1",
    "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  await issueCert(dir, "client", "/CN=calico-ts-client", "extendedKeyUsage=clientAuth\n");
  return {
    dir,
    ca: join(dir, "ca.pem"),
    serverCert: join(dir, "server.pem"),
    serverKey: join(dir, "server.key"),
    clientCert: join(dir, "client.pem"),
    clientKey: join(dir, "client.key"),
  };
}

function healthy(endpoint: string, pki: TestPKI): Promise<boolean> {
  return new Promise((resolve) => {
    const tls = {
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
    };
    // No SNI: the server is addressed by IP, which SNI does not allow.
    const req = request(`${endpoint}/health`, { ...tls, servername: "" }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () => resolve(body.includes('"health":"true"')));
    });
    req.on("error", () => resolve(false));
    req.end();
  });
}

export interface TlsEtcd {
  endpoint: string;
  pki: TestPKI;
  stop(): Promise<void>;
}

export async function startTlsEtcd(): Promise<TlsEtcd> {
  const pki = await makePKI();
  let server: EtcdServer;
  try {
    server = await startEtcd({
      dataDir: join(pki.dir, "data"),
      scheme: "https",
      extraArgs: [
        "--cert-file",
        pki.serverCert,
        "--key-file",
        pki.serverKey,
        "--client-cert-auth",
        "--trusted-ca-file",
        pki.ca,
      ],
      isHealthy: (endpoint) => healthy(endpoint, pki),
    });
  } catch (err) {
    await rm(pki.dir, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: server.endpoint,
    pki,
    async stop() {
      await server.stop();
      await rm(pki.dir, { recursive: true, force: true });
    },
  };
}
