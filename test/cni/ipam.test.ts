/**
 * The built `calico-ipam` plugin on its own, as a runtime (or the calico plugin) runs it:
 * automatic and specific assignment, both DEL handle forms, pools by name, STATUS.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, expectOk, invoke, ipsOfHandle, netConf, pool, startCluster } from "./harness.js";

let c: Cluster;

beforeAll(async () => {
  c = await startCluster({
    prefix: "cts-cni-ipam",
    pools: [
      pool("pool-a", "10.80.0.0/24", { blockSize: 28 }),
      pool("pool-b", "10.81.0.0/24"),
      pool("pool-v6", "fd80::/120"),
    ],
  });
});
afterAll(async () => {
  await c?.stop();
});

const ipamConf = (ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  netConf(c, {
    type: "calico",
    nodename_file_optional: true,
    ipam: { type: "calico-ipam", ...ipam },
    ...extra,
  });
const run = (command: string, containerId: string, conf: unknown, args = "IgnoreUnknown=1") =>
  invoke(c, "calico-ipam", { command, containerId, args, conf, netns: "/var/run/netns/cts-cni-unused" });

describe("calico-ipam", () => {
  it("ADD returns block-masked addresses with matching routes; DEL releases the handle", async () => {
    const out = expectOk(await run("ADD", "ipam0001", ipamConf({ ipv4_pools: ["10.80.0.0/24"] })));
    expect(out.cniVersion).toBe("1.0.0");
    const ips = out.ips as { address: string }[];
    expect(ips).toHaveLength(1);
    expect(ips[0]!.address).toMatch(/^10\.80\.0\.\d+\/28$/);
    expect(out.routes).toEqual([{ dst: ips[0]!.address }]);
    expect(out.interfaces).toBeUndefined();
    expect(await ipsOfHandle(c, "net1.ipam0001")).toEqual([ips[0]!.address.split("/")[0]]);
    const attrs = await c.ipam.getAssignmentAttributes(ips[0]!.address.split("/")[0]!);
    expect(attrs.handleId).toBe("net1.ipam0001");
    expect(attrs.attrs.node).toBe(c.node);
    expect(attrs.attrs.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC$/);

    expectOk(await run("DEL", "ipam0001", ipamConf()));
    expect(await ipsOfHandle(c, "net1.ipam0001")).toEqual([]);
    expectOk(await run("DEL", "ipam0001", ipamConf()));
  });

  it("CALICO_ETCD_CLIENT=grpc uses the gRPC client to the same effect; an unknown value is refused", async () => {
    const conf = ipamConf({ ipv4_pools: ["10.81.0.0/24"] });
    const inv = {
      containerId: "ipamgrpc",
      args: "IgnoreUnknown=1",
      conf,
      netns: "/var/run/netns/cts-cni-unused",
    };
    const grpc = { CALICO_ETCD_CLIENT: "grpc" };
    const out = expectOk(await invoke(c, "calico-ipam", { command: "ADD", ...inv, env: grpc }));
    const ip = (out.ips as { address: string }[])[0]!.address;
    expect(ip).toMatch(/^10\.81\.0\.\d+\/26$/);
    expect(await ipsOfHandle(c, "net1.ipamgrpc")).toEqual([ip.split("/")[0]]);
    expectOk(await invoke(c, "calico-ipam", { command: "DEL", ...inv, env: grpc }));
    expect(await ipsOfHandle(c, "net1.ipamgrpc")).toEqual([]);

    const bad = await invoke(c, "calico-ipam", {
      command: "ADD",
      ...inv,
      env: { CALICO_ETCD_CLIENT: "rest" },
    });
    expect(bad.code).toBe(1);
    expect(bad.json?.msg).toBe('invalid CALICO_ETCD_CLIENT "rest"');
    expect(await ipsOfHandle(c, "net1.ipamgrpc")).toEqual([]);
  });

  it("accepts pool names and honours assign_ipv4/assign_ipv6", async () => {
    const conf = ipamConf({ assign_ipv4: "false", assign_ipv6: "true", ipv6_pools: ["pool-v6"] });
    const out = expectOk(await run("ADD", "ipam0002", conf));
    const ips = (out.ips as { address: string }[]).map((i) => i.address);
    expect(ips).toHaveLength(1);
    expect(ips[0]).toMatch(/^fd80::[0-9a-f]+\/122$/);
    expectOk(await run("DEL", "ipam0002", conf));
    expect(await ipsOfHandle(c, "net1.ipam0002")).toEqual([]);
  });

  it("names the problem with a pool of the wrong family or unknown name", async () => {
    const wrong = await run("ADD", "ipam0003", ipamConf({ ipv4_pools: ["fd80::/120"] }));
    expect(wrong.json).toMatchObject({ code: 7, msg: '"fd80::" isn\'t a IPv4 address' });
    const unknown = await run("ADD", "ipam0003", ipamConf({ ipv4_pools: ["no-such-pool"] }));
    expect(String(unknown.json?.msg)).toContain('error parsing pool "no-such-pool"');
    expect(await ipsOfHandle(c, "net1.ipam0003")).toEqual([]);
  });

  it("assigns the exact address in IP= and refuses it when taken", async () => {
    const out = expectOk(await run("ADD", "ipam0004", ipamConf(), "IgnoreUnknown=1;IP=10.81.0.77"));
    expect(out.ips).toEqual([{ address: "10.81.0.77/32" }]);
    expect(out.routes).toEqual([{ dst: "10.81.0.77/32" }]);
    const again = await run("ADD", "ipam0005", ipamConf(), "IgnoreUnknown=1;IP=10.81.0.77");
    expect(again.code).toBe(1);
    expect(String(again.json?.msg)).toContain("10.81.0.77");
    expectOk(await run("DEL", "ipam0004", ipamConf()));
    expect(await ipsOfHandle(c, "net1.ipam0004")).toEqual([]);
  });

  it("DEL also releases the older workload-ID handle", async () => {
    await c.ipam.assignIP({
      ip: "10.81.0.90",
      handleId: "legacy0001",
      hostname: c.node,
      attrs: { node: c.node },
    });
    expect(await ipsOfHandle(c, "legacy0001")).toEqual(["10.81.0.90"]);
    expectOk(await run("DEL", "legacy0001", ipamConf()));
    expect(await ipsOfHandle(c, "legacy0001")).toEqual([]);
  });

  it("fails ADD when the node has no Calico Node resource", async () => {
    const out = await run("ADD", "ipam0006", ipamConf({}, { nodename: "no-such-node" }));
    expect(out.code).toBe(1);
    expect(String(out.json?.msg)).toContain("no-such-node");
    expect(await ipsOfHandle(c, "net1.ipam0006")).toEqual([]);
  });

  it("prints the result in the config's version", async () => {
    const out = expectOk(await run("ADD", "ipam0007", { ...ipamConf(), cniVersion: "0.2.0" }));
    expect(out.ip4).toMatchObject({ ip: expect.stringMatching(/^10\.8[01]\.0\.\d+\/\d+$/) });
    expectOk(await run("DEL", "ipam0007", ipamConf()));
  });

  it("STATUS (CNI 1.1) succeeds with enabled pools", async () => {
    const out = await run("STATUS", "", { ...ipamConf(), cniVersion: "1.1.0" });
    expect(out.code).toBe(0);
    expect(out.stdout).toBe("");
  });
});
