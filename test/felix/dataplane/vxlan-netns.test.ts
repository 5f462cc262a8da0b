/**
 * VXLAN on a real kernel: two hosts in different subnets behind a router that knows nothing of
 * pod addresses, each driven by Felix's dataplane from calc-graph messages. Pods reach each other
 * only through `vxlan.calico` (the capture on the router shows UDP 4789 and no bare pod address),
 * full-size TCP and a 1472-byte UDP datagram cross intact at the MTU Felix chose, a second apply
 * changes nothing, drift is repaired, a departed node's entries and routes go, a restart adopts
 * the device, and turning VXLAN off removes it. IPIP is tried too, and skipped with the reason
 * when this kernel has no ipip module.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteUpdate, ToDataplane } from "../../../src/felix/calc/messages.js";
import { type PolicyBackend, PolicyDataplane } from "../../../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { tunnelOptionsFromConfig } from "../../../src/felix/dataplane/tunnels/config.js";
import { derivedVtepMac } from "../../../src/node/index.js";
import { eventually } from "../../support/datastore.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";
import { expectedDigest, SEND_TCP_SCRIPT, SEND_UDP_SCRIPT, SINK_SCRIPT } from "../../support/transfer.js";
import { routeUpdate } from "./fixtures.js";

interface Host {
  name: string;
  ns: Netns;
  ip: string;
  tunnel: string;
  block: string;
  pod: Netns;
  podIp: string;
  mtuFile: string;
  dp: PolicyDataplane;
}

let dir: string;
let router: Netns;
const hosts: Host[] = [];
const children: ChildProcess[] = [];

function route(dst: string, over: Partial<RouteUpdate> = {}): RouteUpdate {
  return routeUpdate(dst, { ipPoolType: "vxlan", ...over });
}

function vtepOf(h: Host): ToDataplane {
  return {
    type: "VXLANTunnelEndpointUpdate",
    node: h.name,
    mac: derivedVtepMac(h.name, 4),
    ipv4Addr: h.tunnel,
    parentDeviceIp: h.ip,
  };
}

function newDataplane(
  h: Pick<Host, "name" | "ns" | "mtuFile">,
  backend: PolicyBackend = { kind: "nftables" },
): PolicyDataplane {
  return new PolicyDataplane(
    (argv, input) => h.ns.exec(argv, input === undefined ? {} : { input }),
    defaultRenderConfig(),
    backend,
    { tunnels: tunnelOptionsFromConfig({ MTUFilePath: h.mtuFile }, h.name) },
  );
}

/** Everything the calc graph would tell `self` about a two-node VXLAN cluster. */
function feed(self: Host, all: Host[]): void {
  self.dp.onUpdate({ type: "Encapsulation", ipipEnabled: false, vxlanEnabled: true, vxlanEnabledV6: false });
  for (const h of all) {
    self.dp.onUpdate(vtepOf(h));
    self.dp.onUpdate(
      h === self
        ? route(h.block, { types: ["local-workload"], blackhole: true, dstNodeName: h.name })
        : route(h.block, { dstNodeName: h.name, dstNodeIp: h.ip, sameSubnet: false }),
    );
  }
}

async function makeHost(i: number): Promise<Host> {
  const name = `vx${i}`;
  const ns = await createNetns(`cts-vxh${i}`);
  const pod = await createNetns(`cts-vxp${i}`);
  const ip = `10.31.${i}.2`;
  await router.execOk([
    "ip",
    "link",
    "add",
    `r${i}`,
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "netns",
    ns.name,
  ]);
  await router.execOk(["ip", "addr", "add", `10.31.${i}.1/24`, "dev", `r${i}`]);
  await router.execOk(["ip", "link", "set", `r${i}`, "up"]);
  await ns.execOk(["ip", "addr", "add", `${ip}/24`, "dev", "eth0"]);
  await ns.execOk(["ip", "link", "set", "eth0", "up"]);
  await ns.execOk(["ip", "route", "add", "default", "via", `10.31.${i}.1`]);
  const podIp = `10.244.${i}.5`;
  await ns.execOk([
    "ip",
    "link",
    "add",
    "wl0",
    "address",
    "ee:ee:ee:ee:ee:ee",
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "netns",
    pod.name,
  ]);
  await ns.execOk(["sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/wl0/proxy_arp"]);
  await ns.execOk(["ip", "link", "set", "wl0", "up"]);
  await ns.execOk(["ip", "route", "add", `${podIp}/32`, "dev", "wl0"]);
  await pod.execOk(["ip", "addr", "add", `${podIp}/32`, "dev", "eth0"]);
  await pod.execOk(["ip", "link", "set", "eth0", "up"]);
  await pod.execOk(["ip", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"]);
  await pod.execOk(["ip", "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"]);
  const h = {
    name,
    ns,
    ip,
    tunnel: `10.244.${i}.0`,
    block: `10.244.${i}.0/26`,
    pod,
    podIp,
    mtuFile: join(dir, `${name}-mtu`),
  };
  return { ...h, dp: newDataplane(h) };
}

function startIn(ns: Netns, argv: string[], ready?: string): Promise<ChildProcess> {
  const child = spawn("nsenter", [`--net=${ns.path}`, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  if (!ready) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    const check = (d: Buffer) => d.toString().includes(ready) && resolve(child);
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", (code) => reject(new Error(`${argv[0]} exited (${code})`)));
  });
}

async function sendTcp(from: Host, to: Host, size: number): Promise<string> {
  return (
    await from.pod.execOk([process.execPath, "-e", SEND_TCP_SCRIPT, to.podIp, String(size)])
  ).stdout.trim();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-vxlan-"));
  router = await createNetns("cts-vxr");
  await router.execOk(["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
  hosts.push(await makeHost(1), await makeHost(2));
  for (const h of hosts) {
    feed(h, hosts);
    await h.dp.apply();
  }
  await startIn((hosts[1] as Host).pod, [process.execPath, "-e", SINK_SCRIPT], "ready");
});

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await removeAll();
  await rm(dir, { recursive: true, force: true });
});

describe("VXLAN through a router that does not know pod addresses", () => {
  it("creates vxlan.calico with Calico's VNI, port, local address, parent, MAC, tunnel address and MTU", async () => {
    const [a] = hosts as [Host, Host];
    const link = (
      await a.ns.ipJson<Array<{ mtu: number; address: string; linkinfo: { info_data: object } }>>([
        "-d",
        "link",
        "show",
        "dev",
        "vxlan.calico",
      ])
    )[0];
    expect(link?.linkinfo.info_data).toMatchObject({
      id: 4096,
      port: 4789,
      local: a.ip,
      link: "eth0",
      learning: false,
    });
    expect(link?.mtu).toBe(1450);
    expect(link?.address).toBe(derivedVtepMac(a.name, 4));
    const addrs = (
      await a.ns.ipJson<Array<{ addr_info: Array<{ local: string }> }>>([
        "-4",
        "addr",
        "show",
        "dev",
        "vxlan.calico",
      ])
    )[0];
    expect(addrs?.addr_info.map((x) => x.local)).toEqual([a.tunnel]);
    expect(await readFile(a.mtuFile, "utf8")).toBe("1450");
  });

  it("has one permanent ARP and FDB entry for the other VTEP and the route to its block through the tunnel", async () => {
    const [a, b] = hosts as [Host, Host];
    expect(await a.ns.ipJson(["neigh", "show", "dev", "vxlan.calico"])).toEqual([
      { dst: b.tunnel, lladdr: derivedVtepMac(b.name, 4), state: ["PERMANENT"] },
    ]);
    const fdb = JSON.parse(
      (await a.ns.execOk(["bridge", "-j", "fdb", "show", "dev", "vxlan.calico"])).stdout,
    );
    expect(fdb).toEqual([{ mac: derivedVtepMac(b.name, 4), dst: b.ip, flags: ["self"], state: "permanent" }]);
    const routes = (await a.ns.execOk(["ip", "route", "show", "proto", "80"])).stdout;
    expect(routes).toContain(`${b.block} via ${b.tunnel} dev vxlan.calico onlink`);
    expect(routes).toContain(`blackhole ${a.block}`);
  });

  it("carries pod traffic encapsulated: UDP 4789 on the wire, never a bare pod address", async () => {
    const [a, b] = hosts as [Host, Host];
    const pcap = join(dir, "fabric.pcap");
    const dump = await startIn(router, ["tcpdump", "-nn", "-U", "-i", "r1", "-w", pcap], "listening on");
    expect(await sendTcp(a, b, 100_000)).toBe(expectedDigest(100_000));
    const read = async (filter: string) =>
      (await router.execOk(["tcpdump", "-nn", "-r", pcap, filter])).stdout
        .split("\n")
        .filter((l) => l.trim());
    // Seen before stopping, so the capture is known to hold the transfer.
    await eventually(
      async () => expect((await read(`udp dst port 4789 and dst host ${b.ip}`)).length).toBeGreaterThan(0),
      10_000,
      200,
    );
    dump.kill("SIGINT");
    await new Promise((r) => dump.once("exit", r));
    expect(await read("not udp port 4789 and net 10.244.0.0/16")).toEqual([]);
  });

  it("full-size TCP and a 1472-byte UDP datagram cross intact at the pod MTU from the MTU file", async () => {
    const [a, b] = hosts as [Host, Host];
    const mtu = (await readFile(a.mtuFile, "utf8")).trim();
    for (const h of [a, b]) await h.pod.execOk(["ip", "link", "set", "eth0", "mtu", mtu]);
    expect(await sendTcp(a, b, 4_000_000)).toBe(expectedDigest(4_000_000));
    const udp = await a.pod.execOk([process.execPath, "-e", SEND_UDP_SCRIPT, b.podIp, "1472"]);
    expect(udp.stdout.trim()).toBe("1472");
  });

  it("a second apply changes nothing; drift in the FDB is repaired on resync", async () => {
    const [a, b] = hosts as [Host, Host];
    const again = await a.dp.apply();
    expect(again.tunnels).toEqual([]);
    expect(again.clusterRoutes).toEqual({ 4: "", 6: "" });
    await a.ns.execOk([
      "bridge",
      "fdb",
      "del",
      derivedVtepMac(b.name, 4),
      "dev",
      "vxlan.calico",
      "dst",
      b.ip,
      "self",
    ]);
    expect(await sendTcp(a, b, 1000)).toBe("timeout");
    a.dp.resync();
    const repaired = await a.dp.apply();
    expect(repaired.tunnels.join("\n")).toContain(`fdb replace ${derivedVtepMac(b.name, 4)}`);
    expect(await sendTcp(a, b, 1000)).toBe(expectedDigest(1000));
  });

  it("a restarted Felix adopts the device and entries without recreating them", async () => {
    const [a, b] = hosts as [Host, Host];
    const fresh = newDataplane(a);
    a.dp = fresh;
    feed(a, hosts);
    const result = await fresh.apply();
    expect(result.tunnels).toEqual([]);
    expect(await sendTcp(a, b, 1000)).toBe(expectedDigest(1000));
  });

  it("when a node leaves, its ARP/FDB entries and routes disappear", async () => {
    const [a, b] = hosts as [Host, Host];
    a.dp.onUpdate({ type: "VXLANTunnelEndpointRemove", node: b.name });
    a.dp.onUpdate({ type: "RouteRemove", dst: b.block });
    await a.dp.apply();
    expect(await a.ns.ipJson(["neigh", "show", "dev", "vxlan.calico", "nud", "permanent"])).toEqual([]);
    expect((await a.ns.execOk(["bridge", "fdb", "show", "dev", "vxlan.calico"])).stdout).not.toContain(b.ip);
    expect((await a.ns.execOk(["ip", "route"])).stdout).not.toContain(b.block);
    feed(a, hosts);
    await a.dp.apply();
    expect(await sendTcp(a, b, 1000)).toBe(expectedDigest(1000));
  });

  it.each([
    ["nftables", { kind: "nftables" }],
    ["iptables", { kind: "iptables", flavour: "nft" }],
  ] as const)("%s: VXLAN is accepted only from the cluster's hosts", async (_mode, backend) => {
    const [, b] = hosts as [Host, Host];
    b.dp = newDataplane(b, backend);
    feed(b, hosts);
    await b.dp.apply();
    // A rogue VTEP on the router, aiming encapsulated traffic straight at b's pod.
    const rogue = "vxrogue";
    await router.execOk([
      "ip",
      "link",
      "add",
      rogue,
      "type",
      "vxlan",
      "id",
      "4096",
      "remote",
      b.ip,
      "local",
      "10.31.2.1",
      "dev",
      "r2",
      "dstport",
      "4789",
      "nolearning",
    ]);
    try {
      await router.execOk(["ip", "addr", "add", "10.244.99.9/32", "dev", rogue]);
      await router.execOk(["ip", "link", "set", rogue, "up"]);
      await router.execOk([
        "ip",
        "neigh",
        "replace",
        b.podIp,
        "lladdr",
        derivedVtepMac(b.name, 4),
        "dev",
        rogue,
        "nud",
        "permanent",
      ]);
      await router.execOk(["ip", "route", "replace", `${b.podIp}/32`, "dev", rogue]);
      // The sink answers plainly, via b's default route to the router, which owns 10.244.99.9.
      const send = async () =>
        (await router.execOk([process.execPath, "-e", SEND_UDP_SCRIPT, b.podIp, "100"])).stdout.trim();
      expect(await send()).toBe("timeout");
      b.dp.onUpdate({
        type: "VXLANTunnelEndpointUpdate",
        node: "rogue",
        mac: "66:00:00:00:99:99",
        ipv4Addr: "10.244.99.0",
        parentDeviceIp: "10.31.2.1",
      });
      await b.dp.apply();
      expect(await send()).toBe("100");
      b.dp.onUpdate({ type: "VXLANTunnelEndpointRemove", node: "rogue" });
      await b.dp.apply();
      expect(await send()).toBe("timeout");
    } finally {
      await router.exec(["ip", "link", "del", rogue]);
    }
  });

  it("turning VXLAN off removes the device and its routes", async () => {
    const [a] = hosts as [Host, Host];
    a.dp.onUpdate({ type: "Encapsulation", ipipEnabled: false, vxlanEnabled: false, vxlanEnabledV6: false });
    await a.dp.apply();
    expect((await a.ns.exec(["ip", "link", "show", "vxlan.calico"])).code).not.toBe(0);
    expect((await a.ns.execOk(["ip", "route"])).stdout).not.toContain("vxlan.calico");
  });
});

describe("IPIP on this kernel", () => {
  it("programs tunl0, or skips with the reason when the kernel has no ipip module", async (ctx) => {
    const probe = await createNetns("cts-ipip");
    const made = await probe.exec(["ip", "link", "add", "name", "tunl0", "type", "ipip"]);
    if (made.code !== 0) {
      console.log(`skipped: this kernel has no ipip module (ip link add type ipip: ${made.stderr.trim()})`);
      ctx.skip();
    }
    const h = { name: "ip1", ns: probe, mtuFile: join(dir, "ipip-mtu") };
    await probe.execOk(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
    await probe.execOk(["ip", "addr", "add", "10.32.0.1/24", "dev", "eth0"]);
    await probe.execOk(["ip", "link", "set", "eth0", "up"]);
    await probe.execOk(["ip", "link", "set", "x0", "up"]);
    const dp = newDataplane(h);
    dp.onUpdate({ type: "Encapsulation", ipipEnabled: true, vxlanEnabled: false, vxlanEnabledV6: false });
    dp.onUpdate(route("10.246.0.0/32", { types: ["local-tunnel"], ipPoolType: "ipip", dstNodeName: "ip1" }));
    dp.onUpdate(route("10.246.1.0/26", { ipPoolType: "ipip", dstNodeName: "ip2", dstNodeIp: "10.33.0.2" }));
    await dp.apply();
    expect((await probe.execOk(["ip", "-4", "addr", "show", "dev", "tunl0"])).stdout).toContain(
      "10.246.0.0/32",
    );
    expect((await probe.execOk(["ip", "route"])).stdout).toContain("10.246.1.0/26 via 10.33.0.2 dev tunl0");
  });
});
