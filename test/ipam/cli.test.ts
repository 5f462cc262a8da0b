import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { ipamCommand } from "../../src/calicoctl/ipam/index.js";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import { IPAMClient } from "../../src/ipam/client.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";

let etcd: EtcdServer;
let store: CalicoResourceStore;
let dir: string;

const res = (kind: string, name: string, spec: Record<string, unknown>, namespace?: string): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: namespace ? { name, namespace } : { name },
  spec,
});

beforeAll(async () => {
  etcd = await startEtcd();
  store = new CalicoResourceStore(new EtcdKV({ endpoints: [etcd.endpoint] }));
  dir = await mkdtemp(join(tmpdir(), "ipam-cli-"));
  await store.create(
    res("IPPool", "default-ipv4-ippool", { cidr: "10.90.0.0/16", blockSize: 26, nodeSelector: "all()" }),
  );
  await store.create(res("Node", "node-a", {}));
});

afterAll(async () => {
  await store.close();
  await etcd.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `calicoctl ipam <args>` in-process with its own datastore connection. */
async function calicoctl(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = "";
  let err = "";
  let code = 0;
  const seen: string[] = [];
  const cmd = ipamCommand({
    openStore: async (configPath) => {
      seen.push(configPath);
      return new CalicoResourceStore(new EtcdKV({ endpoints: [etcd.endpoint] }));
    },
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    fail: (c) => {
      code = c;
    },
    version: "v9.9.9",
  });
  await cmd.parseAsync(args, { from: "user" });
  expect(seen.every((p) => p === "/etc/calico/calicoctl.cfg" || p === "/tmp/custom.cfg")).toBe(true);
  return { out, err, code };
}

describe("calicoctl ipam (in-process, real etcd)", () => {
  let ips: string[] = [];

  it("shows pool and block utilisation and a single address", async () => {
    const ipam = IPAMClient.fromResourceStore(store, { defaultHostname: "node-a" });
    const r = await ipam.autoAssign({
      handleId: "k8s-pod-network.live",
      attrs: { node: "node-a", pod: "p1", namespace: "ns" },
      num4: 1,
    });
    const r2 = await ipam.autoAssign({
      handleId: "k8s-pod-network.dead",
      attrs: { node: "node-a", pod: "p2", namespace: "ns" },
      num4: 1,
    });
    ips = [...r.ipv4.ips, ...r2.ipv4.ips].map((c) => c.split("/")[0]!);

    const show = await calicoctl("show", "-c", "/tmp/custom.cfg");
    expect(show.code).toBe(0);
    expect(show.out).toContain(
      "| IP Pool  | 10.90.0.0/16 |     65536 | 2 (0%)     | 0 (0%)       | 65534 (100%) |",
    );
    expect(show.out).not.toContain("Block");
    expect((await calicoctl("show", "--show-blocks")).out).toMatch(
      /\| Block +\| 10\.90\.\d+\.\d+\/26 \|\s+64 \| 2 \(3%\)/,
    );

    const one = await calicoctl("show", "--ip", ips[0]!);
    expect(one.out).toBe(
      `IP ${ips[0]} is in use\nHandle ID: k8s-pod-network.live\nActive Owner Attributes:\n  namespace: ns\n  node: node-a\n  pod: p1\n`,
    );
    expect((await calicoctl("show", "--ip", "10.90.200.1")).out).toBe("10.90.200.1 is not assigned\n");
    const bad = await calicoctl("show", "--ip", "nonsense");
    expect(bad).toMatchObject({ code: 1, err: "Invalid IP address specified: nonsense\n" });
  });

  it("configures IPAM through the v3 IPAMConfiguration and Calico's v2 key", async () => {
    const set = await calicoctl("configure", "--strictaffinity", "true", "--max-blocks-per-host", "4");
    expect(set).toMatchObject({
      code: 0,
      out: "Successfully set StrictAffinity to: true\nSuccessfully set MaxBlocksPerHost to: 4\n",
    });
    const v3 = await store.get({ kind: "IPAMConfiguration", name: "default" });
    expect(v3.spec).toMatchObject({ strictAffinity: true, maxBlocksPerHost: 4, autoAllocateBlocks: true });
    expect((await store.kv.get("/calico/ipam/v2/config"))?.value).toContain('"strict_affinity":true');
    expect((await calicoctl("show", "--show-configuration")).out).toContain(
      "| MaxBlocksPerHost             | 4         |",
    );

    const refused = await calicoctl("configure", "--strictaffinity", "false");
    expect(refused).toMatchObject({
      code: 1,
      err: "error: MaxBlocksPerHost requires StrictAffinity to be enabled\n",
    });
    expect((await calicoctl("configure")).err).toBe("at least one configuration option must be specified\n");
    expect((await calicoctl("configure", "--strictaffinity", "maybe")).err).toBe(
      "invalid value. Use true or false to set strictaffinity\n",
    );
    expect(
      (await calicoctl("configure", "--max-blocks-per-host", "0", "--strictaffinity", "false")).code,
    ).toBe(0);
  });

  it("checks for leaks, writes a report and releases from it", async () => {
    await store.create(
      res("ClusterInformation", "default", { clusterGUID: "guid-1", datastoreReady: false }),
    );
    await store.create(
      res("WorkloadEndpoint", "node--a-k8s-p1-eth0", { node: "node-a", ipNetworks: [`${ips[0]}/32`] }, "ns"),
    );
    const report = join(dir, "report.json");
    const check = await calicoctl("check", "-o", report, "--show-problem-ips");
    expect(check.code).toBe(0);
    expect(check.out).toContain(
      `  ${ips[1]} leaked; attrs Main:k8s-pod-network.dead Extra:namespace=ns,node=node-a,pod=p2`,
    );
    expect(check.out).toContain("Check complete; found 1 problems.");
    const json = JSON.parse(await readFile(report, "utf8")) as {
      clusterGUID: string;
      datastoreLocked: boolean;
    };
    expect(json).toMatchObject({ clusterGUID: "guid-1", datastoreLocked: true, version: "v9.9.9" });

    const rel = await calicoctl("release", "--from-report", report);
    expect(rel.err).toBe("");
    expect(rel.out).toBe(
      [
        "Releasing 1 old IPs...",
        "Released 1 IPs successfully",
        "Report didn't contain any handles to clean up.",
        "You may now unlock the data store.",
        "",
      ].join("\n"),
    );
    expect((await calicoctl("show", "--ip", ips[1]!)).out).toBe(`${ips[1]} is not assigned\n`);
    expect((await calicoctl("show", "--ip", ips[0]!)).out).toContain("is in use");
    expect(await store.kv.get("/calico/ipam/v2/handle/k8s-pod-network.dead")).toBeUndefined();
    expect((await calicoctl("check")).out).toContain("Check complete; found 0 problems.");
  });

  it("releases one address", async () => {
    const ok = await calicoctl("release", "--ip", ips[0]!);
    expect(ok).toMatchObject({ code: 0, out: `Successfully released IP address ${ips[0]}\n` });
    const again = await calicoctl("release", "--ip", ips[0]!);
    expect(again).toMatchObject({ code: 1, err: `IP address ${ips[0]} is not assigned\n` });
  });
});

describe("calicoctl ipam with a real config file", () => {
  it("opens the datastore named by -c and reports a missing config file", async () => {
    const cfg = join(dir, "calicoctl.cfg");
    await writeFile(
      cfg,
      `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n  datastoreType: etcdv3\n  etcdEndpoints: ${etcd.endpoint}\n`,
    );
    let out = "";
    let err = "";
    let code = 0;
    const io = {
      stdout: (t: string) => {
        out += t;
      },
      stderr: (t: string) => {
        err += t;
      },
      fail: (c: number) => {
        code = c;
      },
    };
    await ipamCommand(io).parseAsync(["show", "-c", cfg], { from: "user" });
    expect(err).toBe("");
    expect(out).toContain("| IP Pool  | 10.90.0.0/16 |");
    await ipamCommand(io).parseAsync(["show", "-c", join(dir, "missing.cfg")], { from: "user" });
    expect(code).toBe(1);
    expect(err).toBe(`Error reading config file: ${join(dir, "missing.cfg")}\n`);
  });
});
