/**
 * Per-workload address and pool selection through the built plugin, driven as a runtime drives
 * it: pool annotations (pod beats namespace beats network config), pinned addresses through
 * IPAM, addresses without IPAM behind `feature_control`, IPv6-only workloads, and every refused
 * request leaving no allocation, endpoint or interface behind.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Netns } from "../support/netns.js";
import {
  type Cluster,
  expectOk,
  getWep,
  invoke,
  ipsOfHandle,
  netConf,
  newContainer,
  pool,
  startCluster,
} from "./harness.js";

let c: Cluster;
const containers: Netns[] = [];

async function container(): Promise<Netns> {
  const ns = await newContainer();
  containers.push(ns);
  return ns;
}

beforeAll(async () => {
  c = await startCluster({
    pools: [
      pool("pool-a", "10.80.0.0/16"),
      pool("pool-b", "10.81.0.0/16"),
      pool("pool-off", "10.82.0.0/16", { disabled: true }),
      pool("pool6-a", "fd80::/112"),
      pool("pool6-b", "fd81::/112"),
    ],
  });
});
afterEach(async () => {
  for (const ns of containers.splice(0)) await ns.remove();
});
afterAll(async () => {
  await c?.stop();
});

const k8sArgs = (pod: string) => `K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=${pod}`;

function k8sConf(
  podAnnotations: Record<string, string>,
  opts: {
    namespaceAnnotations?: Record<string, string>;
    ipam?: Record<string, unknown>;
    extra?: Record<string, unknown>;
  } = {},
) {
  return netConf(c, {
    policy: { type: "k8s" },
    ipam: { type: "calico-ipam", assign_ipv6: "true", ...(opts.ipam ?? {}) },
    args: { k8s: { podAnnotations, namespaceAnnotations: opts.namespaceAnnotations ?? {} } },
    ...(opts.extra ?? {}),
  });
}

async function add(pod: string, conf: Record<string, unknown>) {
  const ctr = await container();
  const containerId = `ctr-${pod}`;
  const run = await invoke(c, "calico", {
    command: "ADD",
    containerId,
    netns: ctr.path,
    args: k8sArgs(pod),
    conf,
  });
  return { ctr, containerId, run };
}

async function del(pod: string, conf: Record<string, unknown>, ctr: Netns) {
  expectOk(
    await invoke(c, "calico", {
      command: "DEL",
      containerId: `ctr-${pod}`,
      netns: ctr.path,
      args: k8sArgs(pod),
      conf,
    }),
  );
}

const addresses = (result: Record<string, unknown>) =>
  (result.ips as { address: string }[]).map((i) => i.address).sort();

/** Addresses in use over every pool: a refused request must not move it. */
async function inUse(): Promise<bigint> {
  return (await c.ipam.getUtilization()).reduce((n, p) => n + p.inUse, 0n);
}

const wepName = (pod: string) => `${c.node.replaceAll("-", "--")}-k8s-${pod}-eth0`;

describe("pool selection", () => {
  it("the pod's pool annotations beat its namespace's, which beat the network config", async () => {
    const conf = k8sConf(
      { "cni.projectcalico.org/ipv4pools": '["pool-b"]' },
      {
        namespaceAnnotations: {
          "cni.projectcalico.org/ipv4pools": '["10.80.0.0/16"]',
          "cni.projectcalico.org/ipv6pools": '["pool6-b"]',
        },
        ipam: { ipv6_pools: ["fd80::/112"] },
      },
    );
    const { ctr, run } = await add("poolpick", conf);
    const got = addresses(expectOk(run));
    expect(got[0]).toMatch(/^10\.81\./);
    expect(got[1]).toMatch(/^fd81::/);
    await del("poolpick", conf, ctr);
  });

  it("ipam.ipv4_pools / ipv6_pools in the network config choose the pools when nothing is annotated", async () => {
    const conf = k8sConf({}, { ipam: { ipv4_pools: ["pool-b"], ipv6_pools: ["fd81::/112"] } });
    const { ctr, run } = await add("confpools", conf);
    const got = addresses(expectOk(run));
    expect(got[0]).toMatch(/^10\.81\./);
    expect(got[1]).toMatch(/^fd81::/);
    await del("confpools", conf, ctr);
  });

  it("an IPv6 pool named in ipv4pools is refused and nothing is allocated", async () => {
    const before = await inUse();
    const { run } = await add("wrongfam", k8sConf({ "cni.projectcalico.org/ipv4pools": '["fd80::/112"]' }));
    expect(run.code).not.toBe(0);
    expect(JSON.stringify(run.json)).toContain("isn't a IPv4 address");
    expect(await inUse()).toBe(before);
  });

  it("a disabled pool named in the annotation allocates nothing", async () => {
    const before = await inUse();
    const { run } = await add("offpool", k8sConf({ "cni.projectcalico.org/ipv4pools": '["pool-off"]' }));
    expect(run.code).not.toBe(0);
    expect(await inUse()).toBe(before);
    expect(await getWep(c, wepName("offpool"), "ns1")).toBeUndefined();
  });
});

describe("pinned addresses (ipAddrs)", () => {
  it("gets exactly the requested addresses of both families through IPAM, and DEL frees them", async () => {
    const conf = k8sConf({ "cni.projectcalico.org/ipAddrs": '["10.80.7.7", "fd80::77"]' });
    const { ctr, containerId, run } = await add("pinned", conf);
    expect(addresses(expectOk(run))).toEqual(["10.80.7.7/32", "fd80::77/128"]);
    expect((await ipsOfHandle(c, `net1.${containerId}`)).sort()).toEqual(["10.80.7.7", "fd80::77"]);
    const wep = await getWep(c, wepName("pinned"), "ns1");
    expect(wep?.spec).toMatchObject({ ipNetworks: ["10.80.7.7/32", "fd80::77/128"] });
    const inside = await ctr.ipJson<{ addr_info: { local: string }[] }[]>(["addr", "show", "dev", "eth0"]);
    expect(inside[0]?.addr_info.map((a) => a.local)).toEqual(
      expect.arrayContaining(["10.80.7.7", "fd80::77"]),
    );
    await del("pinned", conf, ctr);
    expect(await ipsOfHandle(c, `net1.${containerId}`)).toEqual([]);
  });

  it("an address already in use, outside every pool, or in a disabled pool is refused with nothing leaked", async () => {
    const holder = k8sConf({ "cni.projectcalico.org/ipAddrs": '["10.80.9.9"]' });
    const { ctr } = await add("holder", holder);
    const before = await inUse();
    const cases: Array<[string, string, string]> = [
      ["taken", '["10.80.9.9"]', "Address already assigned in block"],
      ["nopool", '["10.99.0.1"]', "The provided IP address is not in a configured pool"],
      ["offpin", '["10.82.0.5"]', "The provided IP address is not in a configured pool"],
      // The IPv4 address is assigned first and must be released when the IPv6 one fails.
      ["halfway", '["10.80.9.10", "fd99::1"]', "The provided IP address is not in a configured pool"],
    ];
    for (const [pod, value, why] of cases) {
      const { containerId, run } = await add(pod, k8sConf({ "cni.projectcalico.org/ipAddrs": value }));
      expect(run.code, pod).toBe(1);
      expect(run.json?.msg, pod).toContain("error getting IP from IPAM");
      expect(run.json?.msg, pod).toContain(why);
      expect(await ipsOfHandle(c, `net1.${containerId}`), pod).toEqual([]);
      expect(await getWep(c, wepName(pod), "ns1"), pod).toBeUndefined();
    }
    expect(await inUse()).toBe(before);
    await del("holder", holder, ctr);
  });

  it("malformed or conflicting annotations get Calico's errors", async () => {
    const before = await inUse();
    const cases: Array<[Record<string, string>, string]> = [
      [
        { "cni.projectcalico.org/ipAddrs": "10.80.0.1" },
        'failed to parse IPs 10.80.0.1 for annotation "cni.projectcalico.org/ipAddrs"',
      ],
      [
        { "cni.projectcalico.org/ipAddrs": "[]" },
        'annotation "cni.projectcalico.org/ipAddrs" specified but empty',
      ],
      [
        { "cni.projectcalico.org/ipAddrs": '["10.80.0.1","10.80.0.2"]' },
        'cannot have more than one IPv4 address for "cni.projectcalico.org/ipAddrs" annotation',
      ],
      [{ "cni.projectcalico.org/ipAddrs": '["not-an-ip"]' }, "invalid IP format: not-an-ip"],
      [
        {
          "cni.projectcalico.org/ipAddrs": '["10.80.0.1"]',
          "cni.projectcalico.org/ipAddrsNoIpam": '["10.80.0.2"]',
        },
        "can't have both annotations: 'ipAddrs' and 'ipAddrsNoIpam' in use at the same time",
      ],
      [
        { "cni.projectcalico.org/ipAddrsNoIpam": '["10.80.0.2"]' },
        "requested feature is not enabled: ip_addrs_no_ipam",
      ],
      [{ "cni.projectcalico.org/ipFamilies": '["IPv5"]' }, 'error parsing ipFamilies: ["IPv5"]'],
    ];
    for (const [annotations, msg] of cases) {
      const { run } = await add("bad", k8sConf(annotations));
      expect(run.code, msg).toBe(1);
      expect(run.json?.msg).toContain(msg);
    }
    expect(await inUse()).toBe(before);
    expect(await getWep(c, wepName("bad"), "ns1")).toBeUndefined();
  });
});

describe("ipAddrsNoIpam and single-family workloads", () => {
  it("ipAddrsNoIpam uses the addresses as given, allocating nothing, when feature_control allows it", async () => {
    const before = await inUse();
    const conf = k8sConf(
      { "cni.projectcalico.org/ipAddrsNoIpam": '["10.123.4.5"]' },
      { extra: { feature_control: { ip_addrs_no_ipam: true } } },
    );
    const { ctr, run } = await add("noipam", conf);
    expect(addresses(expectOk(run))).toEqual(["10.123.4.5/32"]);
    expect(await inUse()).toBe(before);
    const host = await c.host.ipJson<{ dst: string }[]>(["route", "show", "10.123.4.5"]);
    expect(host.map((r) => r.dst)).toEqual(["10.123.4.5"]);
    await del("noipam", conf, ctr);
  });

  it("plain CNI refuses feature_control.ip_addrs_no_ipam", async () => {
    const ctr = await container();
    const conf = netConf(c, { feature_control: { ip_addrs_no_ipam: true } });
    const run = await invoke(c, "calico", {
      command: "ADD",
      containerId: "plainnoipam",
      netns: ctr.path,
      conf,
    });
    expect(run.json?.msg).toBe("requested feature is not supported for this runtime: ip_addrs_no_ipam");
    expect(await ipsOfHandle(c, "net1.plainnoipam")).toEqual([]);
  });

  it("an IPv6-only workload (assign_ipv4 false) has one /128, an IPv6 default route and no IPv4", async () => {
    const conf = k8sConf({}, { ipam: { assign_ipv4: "false", ipv6_pools: ["pool6-a"] } });
    const { ctr, run } = await add("v6only", conf);
    const got = addresses(expectOk(run));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^fd80::[0-9a-f]+\/128$/);
    const v4 = await ctr.ipJson<unknown[]>(["-4", "route", "show"]);
    expect(v4).toEqual([]);
    const v6 = await ctr.ipJson<{ dst: string; gateway?: string }[]>(["-6", "route", "show", "default"]);
    expect(v6).toContainEqual(expect.objectContaining({ gateway: "fe80::ecee:eeff:feee:eeee" }));
    await del("v6only", conf, ctr);
  });

  it("the ipFamilies annotation asks for IPv6 only", async () => {
    const conf = k8sConf({ "cni.projectcalico.org/ipFamilies": '["IPv6"]' });
    const { ctr, run } = await add("fam6", conf);
    const got = addresses(expectOk(run));
    expect(got).toHaveLength(1);
    expect(got[0]).toContain(":");
    await del("fam6", conf, ctr);
  });
});
