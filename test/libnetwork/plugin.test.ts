/**
 * The calico-libnetwork process, driven over its unix sockets exactly as dockerd drives it, with
 * a real etcd and a real namespace for the veths. Docker itself is in docker.test.ts.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CalicoClient, ensureInitialized } from "../../src/client/index.js";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import { IPAMClient } from "../../src/ipam/index.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { createNetns, type Forward, forwardIntoNetns, type Netns, removeAll } from "../support/netns.js";
import { call, PLUGIN_BIN, type PluginProcess, startPluginProcess } from "./harness.js";

const API = "projectcalico.org/v3";
const NODE = "lnhost";
const POOL4 = "10.61.0.0/16";
const POOL6 = "fd61::/64";

let etcd: EtcdServer;
let kv: EtcdKV;
let store: CalicoResourceStore;
let ipam: IPAMClient;
let ns: Netns;
let fwd: Forward;
let dir: string;
let plugin: PluginProcess;
let net: string;
let ipamSock: string;

const hex = () => randomBytes(32).toString("hex");

function pluginEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ETCD_ENDPOINTS: fwd.url,
    NODENAME: NODE,
    CALICO_LIBNETWORK_PLUGIN_DIR: dir,
    CALICO_LIBNETWORK_CREATE_PROFILES: "false",
    DOCKER_HOST: `unix://${join(dir, "no-docker.sock")}`,
    ...extra,
  };
}

const wepKey = (eid: string) => ({
  kind: "WorkloadEndpoint",
  namespace: "libnetwork",
  name: `${NODE}-libnetwork-libnetwork-${eid}`,
});

async function exists(key: { kind: string; namespace?: string; name: string }): Promise<boolean> {
  try {
    await store.get(key);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-libnet-"));
  etcd = await startEtcd();
  kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  store = new CalicoResourceStore(kv);
  await ensureInitialized(store);
  const client = new CalicoClient(store);
  await client.create({ apiVersion: API, kind: "Node", metadata: { name: NODE }, spec: {} });
  for (const [name, cidr] of [
    ["pool-a", POOL4],
    ["pool-b", "10.62.0.0/16"],
    ["pool-6", POOL6],
  ] as const)
    await client.create({ apiVersion: API, kind: "IPPool", metadata: { name }, spec: { cidr } });
  ipam = IPAMClient.fromResourceStore(store);
  ns = await createNetns("cts-ln");
  const url = new URL(etcd.endpoint);
  fwd = await forwardIntoNetns(ns, { host: url.hostname, port: Number(url.port) });
  plugin = await startPluginProcess(ns.path, pluginEnv());
  net = join(dir, "calico.sock");
  ipamSock = join(dir, "calico-ipam.sock");
}, 90_000);

afterAll(async () => {
  await plugin?.stop("SIGKILL");
  await fwd?.close();
  await removeAll();
  await kv?.close();
  await etcd?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("handshake", () => {
  it("activates each socket as its driver and answers capabilities, with any HTTP method", async () => {
    expect((await call(net, "Plugin.Activate")).body).toEqual({ Implements: ["NetworkDriver"] });
    expect((await call(ipamSock, "Plugin.Activate")).body).toEqual({ Implements: ["IpamDriver"] });
    expect((await call(net, "NetworkDriver.GetCapabilities", undefined, "GET")).body).toEqual({
      Scope: "local",
      ConnectivityScope: "local",
    });
    expect((await call(ipamSock, "IpamDriver.GetCapabilities", null)).body).toEqual({
      RequiresMACAddress: false,
      RequiresRequestReplay: false,
    });
    expect((await call(ipamSock, "IpamDriver.GetDefaultAddressSpaces")).body).toEqual({
      LocalDefaultAddressSpace: "CalicoLocalAddressSpace",
      GlobalDefaultAddressSpace: "CalicoGlobalAddressSpace",
    });
  });

  it("404s unknown methods and the other driver's methods; refuses bodies that are not JSON", async () => {
    expect((await call(net, "NetworkDriver.Frobnicate", {})).status).toBe(404);
    expect((await call(net, "IpamDriver.RequestPool", {})).status).toBe(404);
    const bad = await call(ipamSock, "IpamDriver.RequestPool", undefined);
    expect(bad.status).toBe(200);
    const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      import("node:http").then(({ request }) => {
        const req = request(
          { socketPath: ipamSock, path: "/IpamDriver.RequestPool", method: "POST" },
          (res) => {
            let b = "";
            res.on("data", (c: Buffer) => {
              b += c.toString();
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
          },
        );
        req.on("error", reject);
        req.end("{not json");
      }, reject);
    });
    expect(raw.status).toBe(500);
    expect(JSON.parse(raw.body).Err).toMatch(/not valid JSON/);
  });
});

describe("IPAM driver", () => {
  it("maps pools: none → Calico's any-pool IDs with the fake gateway; a subnet → the matching pool", async () => {
    expect(
      (
        await call(ipamSock, "IpamDriver.RequestPool", {
          AddressSpace: "CalicoLocalAddressSpace",
          Pool: "",
          V6: false,
        })
      ).body,
    ).toEqual({
      PoolID: "CalicoPoolIPv4",
      Pool: "0.0.0.0/0",
      Data: { "com.docker.network.gateway": "0.0.0.0/0" },
    });
    expect((await call(ipamSock, "IpamDriver.RequestPool", { V6: true })).body).toEqual({
      PoolID: "CalicoPoolIPv6",
      Pool: "::/0",
      Data: { "com.docker.network.gateway": "::/0" },
    });
    expect((await call(ipamSock, "IpamDriver.RequestPool", { Pool: POOL4, Options: {} })).body).toEqual({
      PoolID: "pool-a",
      Pool: POOL4,
      Data: { "com.docker.network.gateway": "0.0.0.0/0" },
    });
  });

  it("refuses a subnet that is no pool's, sub-pools, options and the wrong family, clearly", async () => {
    const outside = await call(ipamSock, "IpamDriver.RequestPool", { Pool: "10.63.0.0/16" });
    expect(outside.status).toBe(500);
    expect(outside.body.Err).toMatch(/10\.63\.0\.0\/16 must match the CIDR of a configured Calico IP Pool/);
    const inside = await call(ipamSock, "IpamDriver.RequestPool", { Pool: "10.61.0.0/24" });
    expect(inside.body.Err).toMatch(/must match the CIDR/);
    expect(
      (await call(ipamSock, "IpamDriver.RequestPool", { Pool: POOL4, SubPool: "10.61.1.0/24" })).body.Err,
    ).toMatch(/sub pool/);
    expect((await call(ipamSock, "IpamDriver.RequestPool", { Options: { a: "b" } })).body.Err).toMatch(
      /Arbitrary options are not supported \(--ipam-opt a\)/,
    );
    expect((await call(ipamSock, "IpamDriver.RequestPool", { Pool: POOL4, V6: true })).body.Err).toMatch(
      /not an IPv6 subnet/,
    );
  });

  it("assigns from the named pool with this node's affinity and a libnetwork handle; release is idempotent", async () => {
    const res = await call(ipamSock, "IpamDriver.RequestAddress", {
      PoolID: "pool-b",
      Address: "",
      Options: null,
    });
    expect(res.status).toBe(200);
    const [ip, len] = (res.body.Address as string).split("/");
    expect(len).toBe("32");
    expect(ip).toMatch(/^10\.62\./);
    const attrs = await ipam.getAssignmentAttributes(ip as string);
    expect(attrs.handleId).toMatch(/^libnetwork\.[0-9a-f]{32}$/);
    expect(attrs.attrs.node).toBe(NODE);
    const blocks = (await store.kv.list("/calico/ipam/v2/host/lnhost/ipv4/block/")).kvs.map((k) => k.key);
    expect(blocks.some((k) => k.includes(`${attrs.block.split("/")[0]}-`))).toBe(true);

    const rel = { PoolID: "pool-b", Address: ip };
    expect((await call(ipamSock, "IpamDriver.ReleaseAddress", rel)).body).toEqual({});
    await expect(ipam.getAssignmentAttributes(ip as string)).rejects.toThrow();
    await expect(ipam.ipsByHandle(attrs.handleId as string)).rejects.toThrow();
    expect((await call(ipamSock, "IpamDriver.ReleaseAddress", rel)).body).toEqual({});
    expect(
      (await call(ipamSock, "IpamDriver.ReleaseAddress", { PoolID: "CalicoPoolIPv4", Address: "0.0.0.0" }))
        .status,
    ).toBe(200);
    expect((await call(ipamSock, "IpamDriver.ReleasePool", { PoolID: "pool-b" })).body).toEqual({});
  });

  it("assigns a requested address (--ip), any pool for the fixed IDs, and refuses gateway requests", async () => {
    const fixed = await call(ipamSock, "IpamDriver.RequestAddress", {
      PoolID: "pool-a",
      Address: "10.61.200.7",
    });
    expect(fixed.body).toEqual({ Address: "10.61.200.7/32", Data: {} });
    const taken = await call(ipamSock, "IpamDriver.RequestAddress", {
      PoolID: "pool-a",
      Address: "10.61.200.7",
    });
    expect(taken.status).toBe(500);
    const v6 = await call(ipamSock, "IpamDriver.RequestAddress", { PoolID: "CalicoPoolIPv6" });
    expect(v6.body.Address).toMatch(/^fd61::[0-9a-f:]+\/128$/);
    const gw = await call(ipamSock, "IpamDriver.RequestAddress", {
      PoolID: "pool-a",
      Options: { RequestAddressType: "com.docker.network.gateway" },
    });
    expect(gw.body.Err).toBe("Calico IPAM does not support specifying a gateway.");
    for (const a of ["10.61.200.7", v6.body.Address.split("/")[0]])
      await call(ipamSock, "IpamDriver.ReleaseAddress", { PoolID: "x", Address: a });
    await expect(ipam.getAssignmentAttributes("10.61.200.7")).rejects.toThrow();
  });
});

describe("network driver", () => {
  const calicoData = {
    IPv4Data: [{ AddressSpace: "CalicoLocalAddressSpace", Gateway: "0.0.0.0/0", Pool: POOL4 }],
    IPv6Data: [],
  };

  it("accepts calico-ipam networks and refuses other IPAM drivers and options, naming them", async () => {
    const nid = hex();
    const ok = await call(net, "NetworkDriver.CreateNetwork", {
      NetworkID: nid,
      Options: { "com.docker.network.enable_ipv6": false, "com.docker.network.generic": {} },
      ...calicoData,
    });
    expect(ok).toEqual({ status: 200, body: {} });
    const other = await call(net, "NetworkDriver.CreateNetwork", {
      NetworkID: hex(),
      Options: {},
      IPv4Data: [{ AddressSpace: "LocalDefault", Gateway: "172.18.0.1/16", Pool: "172.18.0.0/16" }],
    });
    expect(other.body.Err).toMatch(/Non-Calico IPAM driver is used/);
    const opts = await call(net, "NetworkDriver.CreateNetwork", {
      NetworkID: hex(),
      Options: { "com.docker.network.generic": { mtu: "1400", foo: "bar" } },
      ...calicoData,
    });
    expect(opts.body.Err).toBe("Calico driver does not support the flags foo, mtu.");
    const internal = await call(net, "NetworkDriver.CreateNetwork", {
      NetworkID: hex(),
      Options: { "com.docker.network.internal": true },
      ...calicoData,
    });
    expect(internal.body.Err).toBe("Calico driver does not support the flag --internal.");
    expect((await call(net, "NetworkDriver.DeleteNetwork", { NetworkID: nid })).body).toEqual({});
  });

  it("creates the endpoint, the veth and routes on Join, and removes them on Leave/DeleteEndpoint", async () => {
    const nid = hex();
    const eid = hex();
    const addr = await call(ipamSock, "IpamDriver.RequestAddress", { PoolID: "pool-a" });
    const addr6 = await call(ipamSock, "IpamDriver.RequestAddress", { PoolID: "pool-6" });
    const ip = (addr.body.Address as string).split("/")[0] as string;
    const ip6 = (addr6.body.Address as string).split("/")[0] as string;
    const created = await call(net, "NetworkDriver.CreateEndpoint", {
      NetworkID: nid,
      EndpointID: eid,
      Interface: { Address: addr.body.Address, AddressIPv6: addr6.body.Address, MacAddress: "" },
      Options: { "com.docker.network.endpoint.exposedports": [], "com.docker.network.portmap": [] },
    });
    expect(created.status).toBe(200);
    const mac = created.body.Interface.MacAddress as string;
    expect(mac).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
    const wep = await store.get(wepKey(eid));
    expect(wep.spec).toMatchObject({
      orchestrator: "libnetwork",
      workload: "libnetwork",
      node: NODE,
      endpoint: eid,
      interfaceName: `cali${eid.slice(0, 11)}`,
      ipNetworks: [`${ip}/32`, `${ip6}/128`],
      mac,
    });
    expect((wep.spec as { profiles?: string[] }).profiles ?? []).toEqual([]);
    expect(wep.metadata.labels).toMatchObject({ "projectcalico.org/orchestrator": "libnetwork" });

    const joined = await call(net, "NetworkDriver.Join", {
      NetworkID: nid,
      EndpointID: eid,
      SandboxKey: "/var/run/docker/netns/x",
      Options: {},
    });
    expect(joined.body).toEqual({
      InterfaceName: { SrcName: `temp${eid.slice(0, 11)}`, DstPrefix: "cali" },
      Gateway: "169.254.1.1",
      GatewayIPv6: "fe80::ecee:eeff:feee:eeee",
      StaticRoutes: [
        { Destination: "169.254.1.1/32", RouteType: 1, NextHop: "" },
        { Destination: "fe80::ecee:eeff:feee:eeee/128", RouteType: 1, NextHop: "" },
      ],
    });
    const host = `cali${eid.slice(0, 11)}`;
    const links = await ns.ipJson<{ ifname: string; address: string; operstate: string }[]>(["link", "show"]);
    expect(links.find((l) => l.ifname === host)?.address).toBe("ee:ee:ee:ee:ee:ee");
    expect(links.find((l) => l.ifname === `temp${eid.slice(0, 11)}`)?.address).toBe(mac);
    expect(await ns.sysctl(`net/ipv4/conf/${host}/proxy_arp`)).toBe("1");
    const routes = await ns.ipJson<{ dst: string; dev: string }[]>(["route", "show", "exact", `${ip}/32`]);
    expect(routes.map((r) => r.dev)).toEqual([host]);
    const routes6 = await ns.ipJson<{ dst: string; dev: string }[]>([
      "-6",
      "route",
      "show",
      "exact",
      `${ip6}/128`,
    ]);
    expect(routes6.map((r) => r.dev)).toEqual([host]);

    // A restarted plugin finds everything it needs in the datastore and the kernel.
    await plugin.stop();
    plugin = await startPluginProcess(ns.path, pluginEnv());
    const req = { NetworkID: nid, EndpointID: eid };
    expect((await call(net, "NetworkDriver.Leave", req)).body).toEqual({});
    expect(await ns.linkNames()).not.toContain(host);
    expect(await ns.ipJson(["route", "show", "exact", `${ip}/32`])).toEqual([]);
    expect((await call(net, "NetworkDriver.DeleteEndpoint", req)).body).toEqual({});
    expect(await exists(wepKey(eid))).toBe(false);
    expect((await call(net, "NetworkDriver.Leave", req)).body).toEqual({});
    expect((await call(net, "NetworkDriver.DeleteEndpoint", req)).body).toEqual({});
    for (const a of [ip, ip6]) await call(ipamSock, "IpamDriver.ReleaseAddress", { PoolID: "x", Address: a });
    for (const a of [ip, ip6]) await expect(ipam.getAssignmentAttributes(a)).rejects.toThrow();
  }, 60_000);

  it("refuses an endpoint without an address and a Join for an endpoint it never created", async () => {
    const noAddr = await call(net, "NetworkDriver.CreateEndpoint", {
      NetworkID: hex(),
      EndpointID: hex(),
      Interface: {},
    });
    expect(noAddr.body.Err).toBe("No address assigned for endpoint");
    const stray = await call(net, "NetworkDriver.Join", { NetworkID: hex(), EndpointID: hex() });
    expect(stray.body.Err).toMatch(/no WorkloadEndpoint for endpoint/);
    const badId = await call(net, "NetworkDriver.Leave", { NetworkID: hex(), EndpointID: "../etc" });
    expect(badId.body.Err).toMatch(/invalid EndpointID/);
  });

  it("answers the optional calls Docker makes", async () => {
    const req = { NetworkID: hex(), EndpointID: hex() };
    expect((await call(net, "NetworkDriver.EndpointOperInfo", req)).body).toEqual({ Value: {} });
    for (const m of [
      "ProgramExternalConnectivity",
      "RevokeExternalConnectivity",
      "DiscoverNew",
      "DiscoverDelete",
    ])
      expect((await call(net, `NetworkDriver.${m}`, req)).body).toEqual({});
  });
});

describe("configuration", () => {
  async function runBad(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
    const { run } = await import("../../src/lib/exec.js");
    const res = await run(process.execPath, [PLUGIN_BIN], { env: { PATH: process.env.PATH, ...env } });
    return { code: res.code, out: res.stderr };
  }

  it("refuses bad settings with the variable's name and exit 1", async () => {
    expect(await runBad({ CALICO_LIBNETWORK_VETH_MTU: "big" })).toEqual({
      code: 1,
      out: expect.stringMatching(/invalid value 'big' for CALICO_LIBNETWORK_VETH_MTU/),
    });
    expect((await runBad({ CALICO_LIBNETWORK_CREATE_PROFILES: "maybe" })).out).toMatch(
      /CALICO_LIBNETWORK_CREATE_PROFILES \(expected true or false\)/,
    );
    expect((await runBad({ CALICO_LIBNETWORK_LABEL_POLL_TIMEOUT: "5 seconds" })).out).toMatch(
      /CALICO_LIBNETWORK_LABEL_POLL_TIMEOUT/,
    );
    expect((await runBad({ CALICO_LIBNETWORK_IFPREFX: "eth" })).out).toMatch(
      /unknown setting CALICO_LIBNETWORK_IFPREFX/,
    );
    expect((await runBad({ DOCKER_HOST: "tcp://127.0.0.1:2375" })).out).toMatch(/DOCKER_HOST/);
  });
});
