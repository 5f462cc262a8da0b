/**
 * calico-node's tunnel addresses against a real etcd: one per encapsulation a pool enables for
 * the node, from IPAM under Calico's handle and attributes, written on the Node; stable across
 * runs; released when no pool needs it; reassigned when it sits in the wrong pool; and followed
 * live by the watcher when a pool changes mode.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Resource } from "../../src/api/index.js";
import { CalicoClient } from "../../src/client/index.js";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import { IPAMClient } from "../../src/ipam/index.js";
import {
  candidatePools,
  derivedVtepMac,
  reconcileTunnelAddresses,
  TUNNEL_TYPES,
  watchTunnelAddresses,
} from "../../src/node/index.js";
import { eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";

const API = "projectcalico.org/v3";
let etcd: EtcdServer;
let kv: EtcdKV;
let store: CalicoResourceStore;
let client: CalicoClient;
const quiet = { info: () => undefined, warn: () => undefined };

function pool(name: string, cidr: string, spec: Record<string, unknown> = {}): Resource {
  return {
    apiVersion: API,
    kind: "IPPool",
    metadata: { name },
    spec: { cidr, ...spec },
  } as unknown as Resource;
}

async function setPool(name: string, cidr: string, spec: Record<string, unknown>): Promise<void> {
  const existing = await store.get({ kind: "IPPool", name }).catch(() => undefined);
  if (existing)
    await client.update({ ...existing, spec: { ...(existing.spec as object), ...spec } } as Resource);
  else await client.create(pool(name, cidr, spec));
}

async function nodeSpec(name = "node1"): Promise<Record<string, unknown>> {
  return (await store.get({ kind: "Node", name })).spec as Record<string, unknown>;
}

const ipam = () => IPAMClient.fromResourceStore(store, { defaultHostname: "node1" });

beforeAll(async () => {
  etcd = await startEtcd();
  kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  store = new CalicoResourceStore(kv);
  client = new CalicoClient(store);
});

afterAll(async () => {
  await kv?.close();
  await etcd?.stop();
});

beforeEach(async () => {
  for (const p of (await store.list("IPPool")).items)
    await store.delete({ kind: "IPPool", name: p.metadata?.name as string });
  for (const n of (await store.list("Node")).items)
    await store.delete({ kind: "Node", name: n.metadata?.name as string });
  for (const k of (await kv.list("/calico/ipam/")).kvs) await kv.delete(k.key);
  await client.create({
    apiVersion: API,
    kind: "Node",
    metadata: { name: "node1", labels: { rack: "a" } },
    spec: { bgp: { ipv4Address: "172.31.0.1/24" } },
  } as unknown as Resource);
});

describe("which pools may hold a tunnel address (pure)", () => {
  const [ipip, vxlan, vxlan6] = TUNNEL_TYPES;
  it("follows mode, family, allowedUses, disabled and nodeSelector", () => {
    const pools = [
      pool("a", "10.1.0.0/16", { vxlanMode: "Always" }),
      pool("b", "10.2.0.0/16", { vxlanMode: "CrossSubnet", nodeSelector: "rack == 'b'" }),
      pool("c", "10.3.0.0/16", { ipipMode: "CrossSubnet" }),
      pool("d", "10.4.0.0/16", { vxlanMode: "Always", allowedUses: ["Workload"] }),
      pool("e", "10.5.0.0/16", { vxlanMode: "Always", disabled: true }),
      pool("f", "fd00:1::/48", { vxlanMode: "Always" }),
      pool("g", "10.6.0.0/16", { vxlanMode: "Never" }),
    ];
    expect(candidatePools(vxlan as never, pools, { rack: "a" })).toEqual(["10.1.0.0/16"]);
    expect(candidatePools(vxlan as never, pools, { rack: "b" })).toEqual(["10.1.0.0/16", "10.2.0.0/16"]);
    expect(candidatePools(ipip as never, pools, {})).toEqual(["10.3.0.0/16"]);
    expect(candidatePools(vxlan6 as never, pools, {})).toEqual(["fd00:1::/48"]);
  });

  it("derives the VTEP MAC as Felix does (0x66 + SHA-1 of the name)", () => {
    expect(derivedVtepMac("node1", 4)).toMatch(/^66(:[0-9a-f]{2}){5}$/);
    expect(derivedVtepMac("node1", 4)).not.toBe(derivedVtepMac("node1", 6));
    expect(derivedVtepMac("node1", 4)).toBe(derivedVtepMac("node1", 4));
  });
});

describe("tunnel addresses in etcd", () => {
  it("assigns nothing when no pool uses encapsulation", async () => {
    await setPool("p", "10.60.0.0/16", {});
    const got = await reconcileTunnelAddresses(store, "node1", quiet);
    expect(got).toEqual({ ipip: undefined, vxlan: undefined, "vxlan-v6": undefined });
    const spec = await nodeSpec();
    expect(spec.ipv4VXLANTunnelAddr).toBeUndefined();
    expect((spec.bgp as Record<string, unknown>).ipv4IPIPTunnelAddr).toBeUndefined();
  });

  it("VXLAN: an address from the node's own block with Calico's handle and attributes, plus the VTEP MAC; stable", async () => {
    await setPool("p", "10.60.0.0/16", { vxlanMode: "Always" });
    const first = await reconcileTunnelAddresses(store, "node1", quiet);
    const spec = await nodeSpec();
    expect(spec.ipv4VXLANTunnelAddr).toBe(first.vxlan);
    expect(spec.vxlanTunnelMACAddr).toBe(derivedVtepMac("node1", 4));
    const attrs = await ipam().getAssignmentAttributes(first.vxlan as string);
    expect(attrs.handleId).toBe("vxlan-tunnel-addr-node1");
    expect(attrs.attrs).toEqual({ node: "node1", type: "vxlanTunnelAddress" });
    // The first address of the node's first block, as in Calico.
    expect(first.vxlan).toBe(attrs.block.split("/")[0]);
    const affinities = (await kv.list("/calico/ipam/v2/host/node1/")).kvs.map((k) => k.key);
    expect(affinities.some((k) => k.endsWith(attrs.block.replace("/", "-")))).toBe(true);
    const again = await reconcileTunnelAddresses(store, "node1", quiet);
    expect(again.vxlan).toBe(first.vxlan);
    expect(await ipam().ipsByHandle("vxlan-tunnel-addr-node1")).toEqual([first.vxlan]);
  });

  it("releases the address and clears the Node when the pool stops using VXLAN", async () => {
    await setPool("p", "10.60.0.0/16", { vxlanMode: "Always" });
    const { vxlan } = await reconcileTunnelAddresses(store, "node1", quiet);
    await setPool("p", "10.60.0.0/16", { vxlanMode: "Never" });
    expect((await reconcileTunnelAddresses(store, "node1", quiet)).vxlan).toBeUndefined();
    const spec = await nodeSpec();
    expect(spec.ipv4VXLANTunnelAddr).toBeUndefined();
    expect(spec.vxlanTunnelMACAddr).toBeUndefined();
    await expect(ipam().getAssignmentAttributes(vxlan as string)).rejects.toThrow();
    expect(
      await ipam()
        .ipsByHandle("vxlan-tunnel-addr-node1")
        .catch(() => []),
    ).toEqual([]);
  });

  it("IPIP and IPv6 VXLAN go in their own fields with their own handles", async () => {
    await setPool("v4", "10.61.0.0/16", { ipipMode: "CrossSubnet" });
    await setPool("v6", "fd00:61::/48", { vxlanMode: "Always" });
    const got = await reconcileTunnelAddresses(store, "node1", quiet);
    const spec = await nodeSpec();
    expect((spec.bgp as Record<string, unknown>).ipv4IPIPTunnelAddr).toBe(got.ipip);
    expect(got.ipip).toMatch(/^10\.61\./);
    expect(spec.ipv6VXLANTunnelAddr).toBe(got["vxlan-v6"]);
    expect(got["vxlan-v6"]).toMatch(/^fd00:61:/);
    expect(spec.vxlanTunnelMACAddrV6).toBe(derivedVtepMac("node1", 6));
    expect((await ipam().getAssignmentAttributes(got.ipip as string)).handleId).toBe(
      "ipip-tunnel-addr-node1",
    );
    expect((await ipam().getAssignmentAttributes(got["vxlan-v6"] as string)).attrs.type).toBe(
      "vxlanV6TunnelAddress",
    );
  });

  it("moves the address when its pool no longer qualifies but another does", async () => {
    await setPool("old", "10.62.0.0/16", { vxlanMode: "Always" });
    const { vxlan: before } = await reconcileTunnelAddresses(store, "node1", quiet);
    await setPool("old", "10.62.0.0/16", { vxlanMode: "Never" });
    await setPool("new", "10.63.0.0/16", { vxlanMode: "Always" });
    const { vxlan: after } = await reconcileTunnelAddresses(store, "node1", quiet);
    expect(before).toMatch(/^10\.62\./);
    expect(after).toMatch(/^10\.63\./);
    await expect(ipam().getAssignmentAttributes(before as string)).rejects.toThrow();
  });

  it("a node the pool's nodeSelector does not select gets no address", async () => {
    await setPool("p", "10.64.0.0/16", { vxlanMode: "Always", nodeSelector: "rack == 'b'" });
    expect((await reconcileTunnelAddresses(store, "node1", quiet)).vxlan).toBeUndefined();
  });

  it("the watcher follows pool changes live", async () => {
    await setPool("p", "10.65.0.0/16", {});
    const watcher = watchTunnelAddresses(store, "node1", quiet);
    try {
      await setPool("p", "10.65.0.0/16", { vxlanMode: "Always" });
      await eventually(
        async () => expect((await nodeSpec()).ipv4VXLANTunnelAddr).toMatch(/^10\.65\./),
        10_000,
      );
      await setPool("p", "10.65.0.0/16", { vxlanMode: "Never" });
      await eventually(async () => expect((await nodeSpec()).ipv4VXLANTunnelAddr).toBeUndefined(), 10_000);
    } finally {
      await watcher.stop();
    }
  });
});
