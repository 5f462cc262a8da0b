/**
 * A real etcd serving TLS with client-certificate authentication, and the throwaway PKI for it
 * (made with openssl): a CA, a server certificate for 127.0.0.1, and a client certificate.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestPKI {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

async function issue(dir: string, name: string, cn: string, ext: string): Promise<void> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, ext);
  await run(
    "openssl",
    ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      `/CN=${cn}`,
    ]),
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    join(dir, "ca.pem"),
    "-CAkey",
    join(dir, "ca.key"),
    "-CAcreateserial",
    "-out",
    join(dir, `${name}.pem`),
    "-days",
    "2",
    "-extfile",
    extFile,
  ]);
}

export async function makePKI(): Promise<TestPKI> {
  const dir = await mkdtemp(join(tmpdir(), "calico-ts-pki-"));
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    join(dir, "ca.key"),
    "-out",
    join(dir, "ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=calico-ts-test-ca",
  ]);
  await issue(
    dir,
    "server",
    "127.0.0.1",
    "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  await issue(dir, "client", "calico-ts-client", "extendedKeyUsage=clientAuth\n");
  return {
    dir,
    ca: join(dir, "ca.pem"),
    serverCert: join(dir, "server.pem"),
    serverKey: join(dir, "server.key"),
    clientCert: join(dir, "client.pem"),
    clientKey: join(dir, "client.key"),
  };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
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
  const dataDir = join(pki.dir, "data");
  const endpoint = `https://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const proc: ChildProcess = spawn(
    "etcd",
    [
      "--name",
      "tls",
      "--data-dir",
      dataDir,
      "--listen-client-urls",
      endpoint,
      "--advertise-client-urls",
      endpoint,
      "--listen-peer-urls",
      peer,
      "--initial-advertise-peer-urls",
      peer,
      "--initial-cluster",
      `tls=${peer}`,
      "--cert-file",
      pki.serverCert,
      "--key-file",
      pki.serverKey,
      "--client-cert-auth",
      "--trusted-ca-file",
      pki.ca,
      "--log-level",
      "error",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    await exited;
    await rm(pki.dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  while (!(await healthy(endpoint, pki))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`TLS etcd did not become healthy:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { endpoint, pki, stop };
}
