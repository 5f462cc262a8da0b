import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadClientConfig,
  loadClientConfigFromBytes,
  loadClientConfigFromEnv,
} from "../../src/datastore/config.js";
import { ConfigError } from "../../src/datastore/errors.js";
import { etcdOptionsFromConfig, openDatastore } from "../../src/datastore/open.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";

const HEADER = "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\n";

describe("CalicoAPIConfig from a file", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "calico-ts-config-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("parses every etcd field", () => {
    const config = loadClientConfigFromBytes(
      `${HEADER}spec:\n  datastoreType: etcdv3\n  etcdEndpoints: http://10.0.0.1:2379,http://10.0.0.2:2379\n` +
        "  etcdUsername: u\n  etcdPassword: p\n  etcdKeyFile: /k\n  etcdCertFile: /c\n  etcdCACertFile: /ca\n",
    );
    expect(config.kind).toBe("CalicoAPIConfig");
    expect(config.spec).toMatchObject({
      datastoreType: "etcdv3",
      etcdEndpoints: "http://10.0.0.1:2379,http://10.0.0.2:2379",
      etcdUsername: "u",
      etcdPassword: "p",
      etcdKeyFile: "/k",
      etcdCertFile: "/c",
      etcdCACertFile: "/ca",
      etcdDiscoverySrv: "",
    });
  });

  it("rejects unknown fields, wrong types, versions and kinds with Calico's texts", () => {
    expect(() => loadClientConfigFromBytes(`${HEADER}spec:\n  etcdEndpoint: http://x:2379\n`)).toThrow(
      'json: unknown field "etcdEndpoint"',
    );
    expect(() => loadClientConfigFromBytes(`${HEADER}extra: 1\n`)).toThrow('json: unknown field "extra"');
    expect(() => loadClientConfigFromBytes(`${HEADER}spec:\n  etcdEndpoints: 12\n`)).toThrow(ConfigError);
    expect(() =>
      loadClientConfigFromBytes("apiVersion: projectcalico.org/v2\nkind: CalicoAPIConfig\nspec: {}\n"),
    ).toThrow("invalid config file: unknown APIVersion 'projectcalico.org/v2'");
    expect(() =>
      loadClientConfigFromBytes("apiVersion: projectcalico.org/v3\nkind: IPPool\nspec: {}\n"),
    ).toThrow("invalid config file: expected kind 'CalicoAPIConfig', got 'IPPool'");
    expect(() => loadClientConfigFromBytes(`${HEADER}spec:\n  a: 1\n  a: 2\n`)).toThrow(ConfigError);
  });

  it("defaults the datastore type to etcdv3 only when etcd is configured", () => {
    expect(
      loadClientConfigFromBytes(`${HEADER}spec:\n  etcdEndpoints: http://e:2379\n`).spec.datastoreType,
    ).toBe("etcdv3");
    expect(loadClientConfigFromBytes(`${HEADER}spec: {}\n`).spec.datastoreType).toBe("kubernetes");
  });

  it("reads an explicit path, and reports a missing one", async () => {
    const path = join(dir, "calicoctl.cfg");
    await writeFile(path, `${HEADER}spec:\n  etcdEndpoints: http://file:2379\n`);
    expect(loadClientConfig({ configPath: path, env: {} }).spec.etcdEndpoints).toBe("http://file:2379");
    const missing = join(dir, "nope.cfg");
    expect(() => loadClientConfig({ configPath: missing, env: {} })).toThrow(
      `Error reading config file: ${missing}`,
    );
  });

  it("falls back to the environment when the default file is absent", () => {
    // This test machine has no /etc/calico/calicoctl.cfg.
    const config = loadClientConfig({ env: { ETCD_ENDPOINTS: "http://env:2379" } });
    expect(config.spec).toMatchObject({ datastoreType: "etcdv3", etcdEndpoints: "http://env:2379" });
  });
});

describe("CalicoAPIConfig from the environment", () => {
  it("prefers CALICO_-prefixed variables", () => {
    const config = loadClientConfigFromEnv({
      ETCD_ENDPOINTS: "http://plain:2379",
      CALICO_ETCD_ENDPOINTS: "http://prefixed:2379",
      ETCD_USERNAME: "user",
      CALICO_ETCD_PASSWORD: "secret",
      ETCD_KEY_FILE: "/key.pem",
      ETCD_CERT_FILE: "/cert.pem",
      CALICO_ETCD_CA_CERT_FILE: "/ca.pem",
      ETCD_DISCOVERY_SRV: "",
      K8S_INSECURE_SKIP_TLS_VERIFY: "true",
    });
    expect(config.spec).toMatchObject({
      datastoreType: "etcdv3",
      etcdEndpoints: "http://prefixed:2379",
      etcdUsername: "user",
      etcdPassword: "secret",
      etcdKeyFile: "/key.pem",
      etcdCertFile: "/cert.pem",
      etcdCACertFile: "/ca.pem",
      k8sInsecureSkipTLSVerify: true,
    });
  });

  it("an explicit DATASTORE_TYPE wins over the default", () => {
    expect(
      loadClientConfigFromEnv({ CALICO_DATASTORE_TYPE: "kubernetes", ETCD_ENDPOINTS: "http://e:1" }).spec
        .datastoreType,
    ).toBe("kubernetes");
    expect(loadClientConfigFromEnv({}).spec.datastoreType).toBe("kubernetes");
  });
});

describe("opening the configured datastore", () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd.stop();
  });

  it("refuses Kubernetes with a pointer to ETCD_ENDPOINTS", async () => {
    const config = loadClientConfigFromEnv({});
    await expect(openDatastore(config)).rejects.toThrow(
      /'kubernetes' is not supported by calico-ts.*ETCD_ENDPOINTS/,
    );
  });

  it("maps TLS, auth and endpoints into EtcdKV options", async () => {
    const files = loadClientConfigFromEnv({
      ETCD_ENDPOINTS: " https://a:2379, https://b:2379 ,",
      ETCD_CA_CERT_FILE: "/ca.pem",
      ETCD_CERT_FILE: "/c.pem",
      ETCD_KEY_FILE: "/k.pem",
      ETCD_USERNAME: "u",
    });
    expect(await etcdOptionsFromConfig(files)).toEqual({
      endpoints: ["https://a:2379", "https://b:2379"],
      tls: { caCertFile: "/ca.pem", certFile: "/c.pem", keyFile: "/k.pem" },
    });
    const inline = loadClientConfigFromBytes(
      `${HEADER}spec:\n  etcdEndpoints: https://a:2379\n  etcdCACert: CA-PEM\n  etcdUsername: u\n  etcdPassword: p\n`,
    );
    expect(await etcdOptionsFromConfig(inline)).toEqual({
      endpoints: ["https://a:2379"],
      tls: { caCert: "CA-PEM" },
      username: "u",
      password: "p",
    });
    const mixed = loadClientConfigFromBytes(
      `${HEADER}spec:\n  etcdEndpoints: https://a:2379\n  etcdCACert: CA\n  etcdKeyFile: /k\n`,
    );
    await expect(etcdOptionsFromConfig(mixed)).rejects.toThrow(
      "cannot mix inline certificate-key and certificate / key files",
    );
    const both = loadClientConfigFromBytes(
      `${HEADER}spec:\n  etcdEndpoints: http://a:1\n  etcdDiscoverySrv: example.com\n`,
    );
    await expect(etcdOptionsFromConfig(both)).rejects.toThrow(
      "multiple discovery or bootstrap options specified",
    );
  });

  it("discovers endpoints through SRV records", async () => {
    const config = loadClientConfigFromEnv({ ETCD_DISCOVERY_SRV: "example.com" });
    const asked: string[] = [];
    const opts = await etcdOptionsFromConfig(config, {
      resolveSrv: async (name) => {
        asked.push(name);
        if (name.startsWith("_etcd-client-ssl.")) throw new Error("ENOTFOUND");
        return [{ name: "etcd1.example.com.", port: 2379 }];
      },
    });
    expect(asked).toEqual(["_etcd-client-ssl._tcp.example.com", "_etcd-client._tcp.example.com"]);
    expect(opts.endpoints).toEqual(["http://etcd1.example.com:2379"]);
  });

  it("connects to etcd from the environment", async () => {
    const store = await openDatastore(loadClientConfigFromEnv({ CALICO_ETCD_ENDPOINTS: etcd.endpoint }));
    const created = await store.create({
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
      metadata: { name: "from-config" },
      spec: { cidr: "10.0.0.0/8" },
    });
    expect(
      (await store.kv.get("/calico/resources/v3/projectcalico.org/ippools/from-config"))?.modRevision,
    ).toBe(created.metadata.resourceVersion);
    await store.close();
  });
});
