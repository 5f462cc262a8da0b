import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ResourceNotFoundError, UpdateConflictError } from "../../src/datastore/errors.js";
import type { EtcdKV } from "../../src/datastore/index.js";
import { AutoAssignError } from "../../src/ipam/assign.js";
import { decodeBlock } from "../../src/ipam/block.js";
import { AddressInUseError, BlockLimitError, IPInCooldownError } from "../../src/ipam/errors.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { addr, ClientFactory, FakeInventory, wipe } from "./support.js";

let etcd: EtcdServer;
let factory: ClientFactory;
let raw: EtcdKV;

beforeAll(async () => {
  etcd = await startEtcd();
  factory = new ClientFactory(etcd.endpoint);
  raw = factory.kv();
});

afterAll(async () => {
  await factory.closeAll();
  await etcd.stop();
});

beforeEach(async () => {
  await wipe(raw);
});

async function rawJSON(key: string): Promise<string | undefined> {
  return (await raw.get(key))?.value;
}

async function blockKeys(): Promise<string[]> {
  return (await raw.list("/calico/ipam/v2/assignment/")).kvs.map((k) => k.key);
}

describe("AutoAssign", () => {
  it("claims a block for the host, confirms the affinity and records the handle", async () => {
    const inv = new FakeInventory().addPool("p", { cidr: "10.65.0.0/16" }).addNode("node-a");
    const ipam = factory.client(inv);
    const res = await ipam.autoAssign({ handleId: "h1", attrs: { node: "node-a" }, num4: 1 });
    expect(res.ipv4.ips).toHaveLength(1);
    const ip = res.ipv4.ips[0]!;
    expect(ip).toMatch(/^10\.65\.\d+\.\d+\/26$/);
    const block = `${addr(ip)}/26`;
    // First address handed out is the block's network address.
    expect(Number(addr(ip).split(".")[3]) % 64).toBe(0);
    const seg = block.replace("/", "-");
    expect(await rawJSON(`/calico/ipam/v2/host/node-a/ipv4/block/${seg}`)).toBe(
      '{"state":"confirmed","deleted":false}',
    );
    expect(await rawJSON("/calico/ipam/v2/handle/h1")).toBe(`{"block":{"${block}":1},"deleted":false}`);
    const stored = (await rawJSON(`/calico/ipam/v2/assignment/ipv4/block/${seg}`))!;
    expect(stored).toMatch(/"sequenceNumber":\d{19},/);
    const b = decodeBlock(stored);
    expect(b.affinity).toBe("host:node-a");
    expect(b.sequenceNumber > 1_000_000_000_000_000_000n).toBe(true);
    expect(b.sequenceNumberForAllocation["0"]).toBe(b.sequenceNumber - 1n);
    expect(await ipam.getAssignmentAttributes(addr(ip))).toMatchObject({
      handleId: "h1",
      attrs: { node: "node-a" },
    });
  });

  it("fills the affine block and then claims a second one", async () => {
    const inv = new FakeInventory().addPool("p", { cidr: "10.65.0.0/16" }).addNode("node-a");
    const ipam = factory.client(inv);
    const first = await ipam.autoAssign({ handleId: "a", num4: 64 });
    const blocks = new Set(first.ipv4.ips.map((ip) => ip.replace(/\.\d+\//, ".x/")));
    expect(blocks.size).toBe(1);
    const next = await ipam.autoAssign({ handleId: "b", num4: 1 });
    expect(first.ipv4.ips).not.toContain(next.ipv4.ips[0]);
    expect(await blockKeys()).toHaveLength(2);
    expect((await raw.list("/calico/ipam/v2/host/node-a/")).kvs).toHaveLength(2);
  });

  it("reuses a released address only after the never-used ones", async () => {
    const inv = new FakeInventory().addPool("p", { cidr: "10.65.0.0/26" }).addNode("node-a");
    const ipam = factory.client(inv);
    const a = await ipam.autoAssign({ handleId: "a", num4: 2 });
    expect(a.ipv4.ips).toEqual(["10.65.0.0/26", "10.65.0.1/26"]);
    expect(await ipam.releaseIPs(["10.65.0.0"])).toEqual({ released: ["10.65.0.0"], unallocated: [] });
    const b = await ipam.autoAssign({ handleId: "b", num4: 1 });
    expect(b.ipv4.ips).toEqual(["10.65.0.2/26"]);
  });

  it("assigns IPv4 and IPv6 in one request", async () => {
    const inv = new FakeInventory()
      .addPool("v4", { cidr: "10.65.0.0/16" })
      .addPool("v6", { cidr: "fd00:10::/112" })
      .addNode("node-a");
    const ipam = factory.client(inv);
    const res = await ipam.autoAssign({ handleId: "ds", num4: 1, num6: 2 });
    expect(res.ipv4.ips).toHaveLength(1);
    expect(res.ipv6.ips).toHaveLength(2);
    expect(res.ipv6.ips[0]).toMatch(/^fd00:10::[0-9a-f]*\/122$/);
    const keys = await blockKeys();
    expect(keys.some((k) => k.startsWith("/calico/ipam/v2/assignment/ipv6/block/fd00:10::"))).toBe(true);
    expect((await ipam.ipsByHandle("ds")).sort()).toHaveLength(3);
  });

  it("skips reserved addresses and wholly reserved blocks", async () => {
    const inv = new FakeInventory()
      .addPool("p", { cidr: "10.66.0.0/25" })
      .addNode("node-a")
      .reserve("r", ["10.66.0.0/26", "10.66.0.64/30", "10.66.0.70"]);
    const ipam = factory.client(inv);
    const res = await ipam.autoAssign({ handleId: "r", num4: 3 });
    expect(res.ipv4.ips).toEqual(["10.66.0.68/26", "10.66.0.69/26", "10.66.0.71/26"]);
    expect(await blockKeys()).toEqual(["/calico/ipam/v2/assignment/ipv4/block/10.66.0.64-26"]);
    // Only 64 - 4 - 1 - 3 non-reserved addresses are left; asking for more is a short result.
    const rest = await ipam.autoAssign({ handleId: "r2", num4: 57 });
    expect(rest.ipv4.ips).toHaveLength(56);
    expect(rest.ipv4.msgs.join()).toMatch(/No IPs available in pools/);
  });

  it("requires the Node and honours nodeSelector unless pools are requested", async () => {
    const inv = new FakeInventory()
      .addPool("p", { cidr: "10.67.0.0/16", nodeSelector: "zone == 'a'" })
      .addNode("node-a", { zone: "b" });
    const ipam = factory.client(inv);
    await expect(ipam.autoAssign({ num4: 1, hostname: "ghost" })).rejects.toThrow(/does not exist/);
    await expect(ipam.autoAssign({ num4: 1 })).rejects.toThrow("no configured Calico pools for node node-a");
    const res = await ipam.autoAssign({ num4: 1, ipv4Pools: ["10.67.0.0/16"] });
    expect(res.ipv4.ips).toHaveLength(1);
  });
});

describe("borrowing, strict affinity and the block cap", () => {
  const onePool = () =>
    new FakeInventory().addPool("p", { cidr: "10.68.0.0/26" }).addNode("node-a").addNode("node-b");

  it("borrows from another host's block when no block is free", async () => {
    const inv = onePool();
    await factory.client(inv, { host: "node-a" }).autoAssign({ handleId: "a", num4: 1 });
    const b = factory.client(inv, { host: "node-b" });
    const res = await b.autoAssign({ handleId: "b", num4: 1, attrs: { node: "node-b" } });
    expect(res.ipv4.ips).toEqual(["10.68.0.1/26"]);
    const attrs = await b.getAssignmentAttributes("10.68.0.1");
    expect(attrs.blockAffinity).toBe("host:node-a");
    expect(attrs.attrs.node).toBe("node-b");
  });

  it("never borrows under strict affinity", async () => {
    const inv = onePool();
    const a = factory.client(inv, { host: "node-a" });
    await a.setIPAMConfig({ ...(await a.getIPAMConfig()), strictAffinity: true });
    expect(await rawJSON("/calico/ipam/v2/config")).toContain('"strict_affinity":true');
    await a.autoAssign({ handleId: "a", num4: 1 });
    const res = await factory.client(inv, { host: "node-b" }).autoAssign({ handleId: "b", num4: 1 });
    expect(res.ipv4.ips).toEqual([]);
    expect(res.ipv4.msgs).toContain("No more free affine blocks and strict affinity enabled");
  });

  it("stops at maxBlocksPerHost without borrowing", async () => {
    const inv = new FakeInventory().addPool("p", { cidr: "10.69.0.0/24" }).addNode("node-a");
    const ipam = factory.client(inv);
    await ipam.setIPAMConfig({ ...(await ipam.getIPAMConfig()), strictAffinity: true, maxBlocksPerHost: 1 });
    const err = await ipam.autoAssign({ handleId: "cap", num4: 65 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AutoAssignError);
    expect((err as AutoAssignError).cause).toBeInstanceOf(BlockLimitError);
    expect((err as AutoAssignError).message).toBe(
      "Need to allocate an IPAM block but could not - limit of 1 blocks reached for this node",
    );
    expect((err as AutoAssignError).result.ipv4.ips).toHaveLength(64);
    expect(await blockKeys()).toHaveLength(1);
  });

  it("applies a per-request cap even without strict affinity (no borrowing then)", async () => {
    const inv = new FakeInventory()
      .addPool("p", { cidr: "10.69.0.0/24" })
      .addNode("node-a")
      .addNode("node-b");
    await factory.client(inv, { host: "node-b" }).autoAssign({ num4: 1 });
    const err = await factory
      .client(inv)
      .autoAssign({ num4: 65, maxBlocksPerHost: 1 })
      .catch((e: unknown) => e);
    expect((err as AutoAssignError).cause).toBeInstanceOf(BlockLimitError);
  });

  it("reclaims another host's empty block only after a minute", async () => {
    let now = Date.parse("2026-11-22T10:00:00Z");
    const clock = () => new Date(now);
    const inv = onePool();
    const a = factory.client(inv, { host: "node-a", clock });
    const b = factory.client(inv, { host: "node-b", clock });
    await a.setIPAMConfig({ ...(await a.getIPAMConfig()), strictAffinity: true });
    await a.autoAssign({ handleId: "a", num4: 1 });
    await a.releaseByHandle("a");
    expect(await blockKeys()).toHaveLength(1); // emptied affine block keeps its owner
    expect((await b.autoAssign({ handleId: "b", num4: 1 })).ipv4.ips).toEqual([]);
    now += 61_000;
    const res = await b.autoAssign({ handleId: "b", num4: 1 });
    expect(res.ipv4.ips).toHaveLength(1);
    expect((await b.getAssignmentAttributes(addr(res.ipv4.ips[0]!))).blockAffinity).toBe("host:node-b");
    expect((await raw.list("/calico/ipam/v2/host/node-a/")).kvs).toHaveLength(0);
  });
});

describe("AssignIP", () => {
  it("claims the block for the host and refuses a second assignment", async () => {
    const inv = new FakeInventory().addPool("p", { cidr: "10.70.0.0/16" }).addNode("node-a");
    const ipam = factory.client(inv);
    await ipam.assignIP({ ip: "10.70.3.7", handleId: "tunnel", attrs: { type: "ipipTunnelAddress" } });
    expect(await blockKeys()).toEqual(["/calico/ipam/v2/assignment/ipv4/block/10.70.3.0-26"]);
    expect(await rawJSON("/calico/ipam/v2/host/node-a/ipv4/block/10.70.3.0-26")).toContain("confirmed");
    await expect(ipam.assignIP({ ip: "10.70.3.7", handleId: "other" })).rejects.toBeInstanceOf(
      AddressInUseError,
    );
    await expect(ipam.assignIP({ ip: "10.99.0.1" })).rejects.toThrow(
      "The provided IP address is not in a configured pool",
    );
    // The now-affine block is used first by AutoAssign.
    const res = await ipam.autoAssign({ num4: 1 });
    expect(res.ipv4.ips).toEqual(["10.70.3.0/26"]);
  });
});

describe("release", () => {
  it("releases by IP idempotently and by handle, removing the handle", async () => {
    const inv = new FakeInventory().addPool("p", { cidr: "10.71.0.0/26" }).addNode("node-a");
    const ipam = factory.client(inv);
    await ipam.autoAssign({ handleId: "h", num4: 3 });
    expect((await ipam.releaseIPs(["10.71.0.1", "10.71.0.1"])).released).toEqual(["10.71.0.1"]);
    expect(await ipam.releaseIPs(["10.99.9.9", "10.71.0.1"])).toEqual({
      released: [],
      unallocated: ["10.99.9.9", "10.71.0.1"],
    });
    expect(await rawJSON("/calico/ipam/v2/handle/h")).toBe('{"block":{"10.71.0.0/26":2},"deleted":false}');
    expect((await ipam.releaseByHandle("h")).sort()).toEqual(["10.71.0.0", "10.71.0.2"]);
    expect(await rawJSON("/calico/ipam/v2/handle/h")).toBeUndefined();
    await expect(ipam.releaseByHandle("h")).rejects.toBeInstanceOf(ResourceNotFoundError);
    const [util] = await ipam.getUtilization();
    expect(util?.inUse).toBe(0n);
  });

  it("rejects a release with a stale sequence number and keeps the address", async () => {
    const inv = new FakeInventory().addPool("p", { cidr: "10.71.0.0/26" }).addNode("node-a");
    const ipam = factory.client(inv);
    await ipam.autoAssign({ handleId: "h", num4: 1 });
    const { sequenceNumber } = await ipam.getAssignmentAttributes("10.71.0.0");
    await expect(
      ipam.releaseIPs([{ address: "10.71.0.0", sequenceNumber: sequenceNumber + 1n }]),
    ).rejects.toBeInstanceOf(UpdateConflictError);
    await expect(ipam.releaseIPs([{ address: "10.71.0.0", handle: "not-mine" }])).rejects.toThrow(
      /bad handle/,
    );
    expect((await ipam.getAssignmentAttributes("10.71.0.0")).handleId).toBe("h");
    expect((await ipam.releaseIPs([{ address: "10.71.0.0", handle: "h", sequenceNumber }])).released).toEqual(
      ["10.71.0.0"],
    );
  });

  it("keeps released addresses in cooldown", async () => {
    let now = Date.parse("2026-11-22T10:00:00Z");
    const inv = new FakeInventory().addPool("p", { cidr: "10.71.0.0/30", blockSize: 30 }).addNode("node-a");
    const ipam = factory.client(inv, { clock: () => new Date(now) });
    await ipam.setIPAMConfig({ ...(await ipam.getIPAMConfig()), ipCooldownSeconds: 60 });
    await ipam.autoAssign({ handleId: "h", num4: 4 });
    await ipam.releaseIPs(["10.71.0.0"]);
    await expect(ipam.getAssignmentAttributes("10.71.0.0")).rejects.toBeInstanceOf(IPInCooldownError);
    expect((await ipam.autoAssign({ handleId: "x", num4: 1 })).ipv4.ips).toEqual([]);
    now += 61_000;
    expect((await ipam.autoAssign({ handleId: "x", num4: 1 })).ipv4.ips).toEqual(["10.71.0.0/30"]);
  });

  it("keeps an emptied affine block; deletes an unowned block when its last address goes", async () => {
    const inv = new FakeInventory().addPool("p", { cidr: "10.72.0.0/16" }).addNode("node-a");
    const ipam = factory.client(inv);
    const a = await ipam.autoAssign({ handleId: "a", num4: 1 });
    await ipam.releaseByHandle("a");
    expect(await blockKeys()).toHaveLength(1);
    await ipam.autoAssign({ handleId: "b", num4: 1 });
    // Releasing the affinity of a non-empty block leaves it unowned...
    await ipam.releaseHostAffinities("node-a");
    expect((await raw.list("/calico/ipam/v2/host/")).kvs).toHaveLength(0);
    const block = decodeBlock((await raw.list("/calico/ipam/v2/assignment/")).kvs[0]!.value);
    expect(block.affinity).toBeNull();
    // ...and it disappears with its last address.
    await ipam.releaseByHandle("b");
    expect(await blockKeys()).toHaveLength(0);
    expect(a.ipv4.ips).toHaveLength(1);
  });

  it("releases an empty affine block together with its affinity", async () => {
    const inv = new FakeInventory().addPool("p", { cidr: "10.72.0.0/16" }).addNode("node-a");
    const ipam = factory.client(inv);
    await ipam.autoAssign({ handleId: "a", num4: 1 });
    await ipam.releaseByHandle("a");
    await ipam.releaseHostAffinities("node-a", true);
    expect(await blockKeys()).toHaveLength(0);
    expect((await raw.list("/calico/ipam/v2/")).kvs).toHaveLength(0);
  });
});

describe("affinity maintenance", () => {
  it("releases an emptied block's affinity once its pool stops selecting the node", async () => {
    const inv = new FakeInventory()
      .addPool("p", { cidr: "10.73.0.0/16", nodeSelector: "all()" })
      .addNode("node-a");
    const ipam = factory.client(inv);
    await ipam.autoAssign({ handleId: "a", num4: 1 });
    (inv.pools[0]!.spec as Record<string, unknown>).nodeSelector = "zone == 'x'";
    await ipam.releaseByHandle("a");
    expect(await blockKeys()).toHaveLength(0);
    expect((await raw.list("/calico/ipam/v2/host/")).kvs).toHaveLength(0);
  });

  it("drops empty affine blocks of deselecting pools when the host next allocates", async () => {
    const inv = new FakeInventory()
      .addPool("a-old", { cidr: "10.74.0.0/16" })
      .addPool("b-new", { cidr: "10.75.0.0/16", nodeSelector: "all()" })
      .addNode("node-a");
    const ipam = factory.client(inv);
    await ipam.autoAssign({ handleId: "x", num4: 1, ipv4Pools: ["10.74.0.0/16"] });
    await ipam.releaseByHandle("x");
    (inv.pools[0]!.spec as Record<string, unknown>).nodeSelector = "!all()";
    const res = await ipam.autoAssign({ handleId: "y", num4: 1 });
    expect(res.ipv4.ips[0]).toMatch(/^10\.75\./);
    const keys = await blockKeys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toContain("10.75.");
  });

  it("releases pool affinities, one CIDR's affinity, and a whole IPAM host", async () => {
    const inv = new FakeInventory()
      .addPool("p", { cidr: "10.76.0.0/24" })
      .addNode("node-a")
      .addNode("node-b");
    const a = factory.client(inv, { host: "node-a" });
    const b = factory.client(inv, { host: "node-b" });
    await a.autoAssign({ handleId: "a", num4: 65 });
    await b.autoAssign({ handleId: "b", num4: 1 });
    expect((await raw.list("/calico/ipam/v2/host/node-a/")).kvs).toHaveLength(2);
    const first = (await raw.list("/calico/ipam/v2/host/node-a/")).kvs[0]!.key.split("/")
      .pop()!
      .replace("-", "/");
    await a.releaseAffinity(first, "node-a");
    expect((await raw.list("/calico/ipam/v2/host/node-a/")).kvs).toHaveLength(1);
    await raw.put("/calico/ipam/v2/host/node-a", "");
    await a.removeIPAMHost("node-a");
    expect(await raw.get("/calico/ipam/v2/host/node-a")).toBeUndefined();
    expect((await raw.list("/calico/ipam/v2/host/node-a/")).kvs).toHaveLength(0);
    await a.releasePoolAffinities("10.76.0.0/24");
    expect((await raw.list("/calico/ipam/v2/host/")).kvs).toHaveLength(0);
    // Addresses survive affinity release: the blocks are unowned, not gone.
    expect((await a.ipsByHandle("a")).length).toBe(65);
    expect((await b.getAssignmentAttributes(addr((await b.ipsByHandle("b"))[0]!))).blockAffinity).toBeNull();
  });

  it("allocates LoadBalancer addresses under the virtual owner without a Node", async () => {
    const inv = new FakeInventory().addPool("lb", { cidr: "10.77.0.0/24", allowedUses: ["LoadBalancer"] });
    const ipam = factory.client(inv, { host: "no-such-node" });
    const res = await ipam.autoAssign({ handleId: "svc", num4: 1, intendedUse: "LoadBalancer" });
    expect(res.ipv4.ips).toHaveLength(1);
    expect((await raw.list("/calico/ipam/v2/virtual/load-balancer/ipv4/block/")).kvs).toHaveLength(1);
    await expect(ipam.autoAssign({ num4: 1 })).rejects.toThrow(/does not exist/);
  });

  it("reads blocks written by Calico, including 64-bit sequence numbers and legacy hostAffinity", async () => {
    const inv = new FakeInventory().addPool("p", { cidr: "10.78.0.0/16" }).addNode("node-a");
    const ipam = factory.client(inv);
    const allocations = [0, 0, 1, ...Array<null>(61).fill(null)];
    const unallocated = Array.from({ length: 61 }, (_, i) => i + 3);
    await raw.create(
      "/calico/ipam/v2/assignment/ipv4/block/10.78.1.0-26",
      JSON.stringify({
        cidr: "10.78.1.0/26",
        affinity: null,
        hostAffinity: "node-a",
        allocations,
        unallocated,
        attributes: [
          { handle_id: "k8s-pod-network.abc\r\n", secondary: { node: "node-a", pod: "p", namespace: "ns" } },
          { handle_id: "old" },
        ],
        sequenceNumber: 0,
        sequenceNumberForAllocation: {},
        deleted: false,
      }).replace('"sequenceNumber":0', '"sequenceNumber":1763805600000000012'),
    );
    const attrs = await ipam.getAssignmentAttributes("10.78.1.1");
    expect(attrs.handleId).toBe("k8s-pod-network.abc");
    expect(attrs.blockAffinity).toBe("host:node-a");
    await ipam.releaseIPs(["10.78.1.2"]);
    const stored = (await rawJSON("/calico/ipam/v2/assignment/ipv4/block/10.78.1.0-26"))!;
    expect(stored).toContain('"sequenceNumber":1763805600000000013');
    expect(stored).toContain('"affinity":"host:node-a"');
  });
});
