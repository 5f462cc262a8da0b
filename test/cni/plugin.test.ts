/**
 * The built `calico` plugin driven like a runtime drives it, with real namespaces, veths, etcd
 * and IPAM: what ADD leaves in the kernel and the datastore, and that DEL (and a failed ADD)
 * leaves nothing behind.
 */
import { spawn } from "node:child_process";
import { readlinkSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { exec, type Netns } from "../support/netns.js";
import {
  type Cluster,
  expectOk,
  getWep,
  invoke,
  ipsOfHandle,
  netConf,
  newContainer,
  pool,
  setClusterReady,
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
  c = await startCluster({ pools: [pool("pool-v4", "10.77.0.0/16"), pool("pool-v6", "fd77::/112")] });
});
afterEach(async () => {
  for (const ns of containers.splice(0)) await ns.remove();
});
afterAll(async () => {
  await c?.stop();
});

interface Route {
  dst: string;
  gateway?: string;
  dev: string;
  scope?: string;
  protocol?: string;
}

describe("calico ADD/DEL, plain CNI", () => {
  it("wires the workload and records it; DEL removes every trace", async () => {
    const ctr = await container();
    const id = "abc123def4567890";
    const add = await invoke(c, "calico", {
      command: "ADD",
      containerId: id,
      netns: ctr.path,
      conf: netConf(c, { mtu: 1440 }),
    });
    const result = expectOk(add) as {
      cniVersion: string;
      interfaces: { name: string; mac?: string; mtu?: number; sandbox?: string }[];
      ips: { address: string; interface: number }[];
      routes: { dst: string }[];
    };
    expect(result.cniVersion).toBe("1.0.0");
    expect(result.interfaces[0]).toEqual({ name: "caliabc123def45" });
    expect(result.interfaces[1]).toMatchObject({ name: "eth0", mtu: 1440, sandbox: ctr.path });
    expect(result.ips).toHaveLength(1);
    const address = result.ips[0]!.address;
    expect(address).toMatch(/^10\.77\.\d+\.\d+\/32$/);
    expect(result.ips[0]!.interface).toBe(1);
    const ip = address.split("/")[0]!;
    // calico-ipam's route carries the block's prefix, passed through unchanged.
    expect(result.routes[0]!.dst).toBe(`${ip}/26`);

    // Host side: up, fixed MAC, MTU, proxy ARP and forwarding, host route to the workload.
    const [link] = await c.host.ipJson<{ address: string; mtu: number; flags: string[] }[]>([
      "link",
      "show",
      "dev",
      "caliabc123def45",
    ]);
    expect(link!.address).toBe("ee:ee:ee:ee:ee:ee");
    expect(link!.mtu).toBe(1440);
    expect(link!.flags).toContain("UP");
    expect(await c.host.sysctl("net/ipv4/conf/caliabc123def45/proxy_arp")).toBe("1");
    expect(await c.host.sysctl("net/ipv4/neigh/caliabc123def45/proxy_delay")).toBe("0");
    expect(await c.host.sysctl("net/ipv4/conf/caliabc123def45/forwarding")).toBe("1");
    expect(await c.host.sysctl("net/ipv4/conf/caliabc123def45/route_localnet")).toBe("1");
    const hostRoutes = await c.host.ipJson<Route[]>([
      "route",
      "show",
      "dev",
      "caliabc123def45",
      "proto",
      "boot",
    ]);
    expect(hostRoutes).toContainEqual(expect.objectContaining({ dst: ip, scope: "link" }));

    // Container side: /32, the 169.254.1.1 link route and the default via it, forwarding off.
    const [eth0] = await ctr.ipJson<
      { address: string; mtu: number; addr_info: { local: string; prefixlen: number }[] }[]
    >(["addr", "show", "dev", "eth0"]);
    expect(eth0!.addr_info).toContainEqual(expect.objectContaining({ local: ip, prefixlen: 32 }));
    expect(eth0!.mtu).toBe(1440);
    expect(result.interfaces[1]!.mac).toBe(eth0!.address);
    const routes = await ctr.ipJson<Route[]>(["route", "show"]);
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: "169.254.1.1", dev: "eth0", scope: "link" }),
    );
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: "default", gateway: "169.254.1.1", dev: "eth0" }),
    );
    expect(await ctr.sysctl("net/ipv4/ip_forward")).toBe("0");

    // Proxy ARP really answers for 169.254.1.1: a packet to a host address gets a reply.
    await c.host.execOk(["ip", "addr", "add", "10.254.0.1/32", "dev", "lo"]);
    await c.host.execOk(["ip", "route", "replace", "default", "dev", "lo"]);
    await ctr.execOk(["busybox", "ping", "-c", "1", "-W", "2", "10.254.0.1"]);
    const neigh = await ctr.ipJson<{ dst: string; lladdr: string }[]>(["neigh", "show", "dev", "eth0"]);
    expect(neigh).toContainEqual(
      expect.objectContaining({ dst: "169.254.1.1", lladdr: "ee:ee:ee:ee:ee:ee" }),
    );

    // Datastore: the endpoint, the network's profile, the allocation under the handle.
    const wepName = `${c.node.replaceAll("-", "--")}-cni-${id}-eth0`;
    const wep = await getWep(c, wepName);
    expect(wep?.metadata.labels).toEqual({
      "projectcalico.org/namespace": "default",
      "projectcalico.org/orchestrator": "cni",
    });
    expect(wep?.spec).toMatchObject({
      orchestrator: "cni",
      node: c.node,
      containerID: id,
      endpoint: "eth0",
      ipNetworks: [address],
      profiles: ["net1"],
      interfaceName: "caliabc123def45",
      mac: eth0!.address,
    });
    const profile = await c.store.get({ kind: "Profile", name: "net1" });
    expect(profile.spec).toMatchObject({ labelsToApply: { net1: "" } });
    expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([ip]);

    const del = { command: "DEL", containerId: id, netns: ctr.path, conf: netConf(c) };
    expectOk(await invoke(c, "calico", del));
    expect(await c.host.linkNames()).not.toContain("caliabc123def45");
    expect(await ctr.linkNames()).toEqual(["lo"]);
    expect(await getWep(c, wepName)).toBeUndefined();
    expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
    expect((await c.host.ipJson<Route[]>(["route", "show"])).map((r) => r.dst)).not.toContain(ip);

    // DEL is idempotent: again, without a netns, and after the namespace is gone.
    expectOk(await invoke(c, "calico", del));
    expectOk(await invoke(c, "calico", { ...del, netns: undefined }));
    await ctr.remove();
    expectOk(await invoke(c, "calico", del));
  });

  it("adding the same container to a second network reuses the endpoint and adds a profile", async () => {
    const ctr = await container();
    const id = "multinet01";
    const first = expectOk(
      await invoke(c, "calico", { command: "ADD", containerId: id, netns: ctr.path, conf: netConf(c) }),
    );
    const second = expectOk(
      await invoke(c, "calico", {
        command: "ADD",
        containerId: id,
        netns: ctr.path,
        conf: netConf(c, { name: "net2" }),
      }),
    );
    expect((second.ips as unknown[])[0]).toEqual((first.ips as unknown[])[0]);
    expect(await ctr.linkNames()).toEqual(["lo", "eth0"]);
    const wep = await getWep(c, `${c.node.replaceAll("-", "--")}-cni-${id}-eth0`);
    expect(wep?.spec).toMatchObject({ profiles: ["net1", "net2"] });
    expect(await ipsOfHandle(c, `net2.${id}`)).toEqual([]);
    expectOk(
      await invoke(c, "calico", { command: "DEL", containerId: id, netns: ctr.path, conf: netConf(c) }),
    );
    expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
  });

  it("dual stack: /128 in the pod and the IPv6 default route via the host's link-local address", async () => {
    const ctr = await container();
    const id = "dualstack01";
    const conf = netConf(c, { ipam: { type: "calico-ipam", assign_ipv6: "true" } });
    const result = expectOk(
      await invoke(c, "calico", { command: "ADD", containerId: id, netns: ctr.path, conf }),
    );
    const addrs = (result.ips as { address: string }[]).map((i) => i.address);
    expect(addrs).toHaveLength(2);
    const v6 = addrs.find((a) => a.includes(":"))!;
    expect(v6).toMatch(/^fd77::[0-9a-f]+\/128$/);
    const routes6 = await ctr.ipJson<Route[]>(["-6", "route", "show", "default"]);
    expect(routes6).toContainEqual(
      expect.objectContaining({ gateway: "fe80::ecee:eeff:feee:eeee", dev: "eth0" }),
    );
    const host6 = await c.host.ipJson<Route[]>(["-6", "route", "show", "dev", `cali${id}`]);
    expect(host6.map((r) => r.dst)).toContain(v6.replace("/128", ""));
    expect(await c.host.sysctl(`net/ipv6/conf/cali${id}/proxy_ndp`)).toBe("1");
    expect(await ctr.sysctl("net/ipv6/conf/eth0/accept_dad")).toBe("0");
    expect(await ipsOfHandle(c, `net1.${id}`)).toHaveLength(2);
    expectOk(await invoke(c, "calico", { command: "DEL", containerId: id, netns: ctr.path, conf }));
    expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
  });

  it("Kubernetes identity: hashed veth name, k8s endpoint name and kns profile", async () => {
    const ctr = await container();
    const args = "K8S_POD_NAMESPACE=namespace;K8S_POD_NAME=podname;K8S_POD_INFRA_CONTAINER_ID=sandbox1";
    const conf = netConf(c, { policy: { type: "k8s" } });
    expectOk(
      await invoke(c, "calico", { command: "ADD", containerId: "sandbox1", netns: ctr.path, args, conf }),
    );
    expect(await c.host.linkNames()).toContain("cali82111e10a96");
    const wep = await getWep(c, `${c.node.replaceAll("-", "--")}-k8s-podname-eth0`, "namespace");
    expect(wep?.metadata.labels).toMatchObject({
      "projectcalico.org/orchestrator": "k8s",
      "projectcalico.org/namespace": "namespace",
    });
    expect(wep?.spec).toMatchObject({
      orchestrator: "k8s",
      pod: "podname",
      profiles: ["kns.namespace"],
      containerID: "sandbox1",
    });
    // A DEL for an older sandbox of the same pod keeps the current endpoint.
    expectOk(await invoke(c, "calico", { command: "DEL", containerId: "oldsandbox", args, conf }));
    expect(await getWep(c, `${c.node.replaceAll("-", "--")}-k8s-podname-eth0`, "namespace")).toBeDefined();
    expectOk(
      await invoke(c, "calico", { command: "DEL", containerId: "sandbox1", netns: ctr.path, args, conf }),
    );
    expect(await getWep(c, `${c.node.replaceAll("-", "--")}-k8s-podname-eth0`, "namespace")).toBeUndefined();
    expect(await c.host.linkNames()).not.toContain("cali82111e10a96");
    expect(await ipsOfHandle(c, "net1.sandbox1")).toEqual([]);
  });
});

describe("namespace paths and flags", () => {
  it("works with a /proc/<pid>/ns/net namespace path, as ctr passes", async () => {
    const holder = spawn("unshare", ["--net", "sleep", "60"], { stdio: "ignore" });
    try {
      const netns = `/proc/${holder.pid}/ns/net`;
      // Until unshare has run, that path is still our own namespace: never plumb into it.
      const own = readlinkSync("/proc/self/ns/net");
      for (let i = 0; i < 200 && readlinkSync(netns) === own; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(readlinkSync(netns)).not.toBe(own);
      const id = "procnetns1";
      const result = expectOk(
        await invoke(c, "calico", { command: "ADD", containerId: id, netns, conf: netConf(c) }),
      );
      const address = (result.ips as { address: string }[])[0]!.address;
      const inside = (await exec("nsenter", [`--net=${netns}`, "ip", "-j", "addr", "show", "dev", "eth0"]))
        .stdout;
      expect(inside).toContain(address.split("/")[0]);
      expectOk(await invoke(c, "calico", { command: "DEL", containerId: id, netns, conf: netConf(c) }));
      expect((await exec("nsenter", [`--net=${netns}`, "ip", "link", "show", "eth0"])).code).not.toBe(0);
      expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("calico -t succeeds only when the datastore is ready (code 100 otherwise)", async () => {
    const ok = await invoke(c, "calico", { command: "", argv: ["-t"], conf: netConf(c) });
    expect(ok.code).toBe(0);
    await setClusterReady(c.store, false);
    try {
      const notReady = await invoke(c, "calico", { command: "", argv: ["-t"], conf: netConf(c) });
      expect(notReady.code).toBe(1);
      expect(notReady.json).toMatchObject({
        code: 100,
        msg: "Calico is currently not ready to process requests",
      });
    } finally {
      await setClusterReady(c.store, true);
    }
  });
});

describe("CNI 1.1: CHECK and STATUS", () => {
  it("CHECK passes on a healthy workload and names what is missing; STATUS follows readiness", async () => {
    const ctr = await container();
    const id = "check00001";
    const conf = netConf(c, { cniVersion: "1.1.0" });
    const result = expectOk(
      await invoke(c, "calico", { command: "ADD", containerId: id, netns: ctr.path, conf }),
    );
    expect(result.cniVersion).toBe("1.1.0");
    const check = {
      command: "CHECK",
      containerId: id,
      netns: ctr.path,
      conf: { ...conf, prevResult: result },
    };
    const ok = await invoke(c, "calico", check);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("");

    const address = (result.ips as { address: string }[])[0]!.address;
    await ctr.execOk(["ip", "addr", "del", address, "dev", "eth0"]);
    const broken = await invoke(c, "calico", check);
    expect(broken.code).toBe(1);
    expect(broken.json).toMatchObject({ code: 999, msg: `container interface eth0 lacks ${address}` });

    const status = { command: "STATUS", conf };
    expect((await invoke(c, "calico", status)).code).toBe(0);
    await setClusterReady(c.store, false);
    try {
      const notReady = await invoke(c, "calico", status);
      expect(notReady.json).toMatchObject({
        code: 50,
        msg: "plugin not available: Calico is currently not ready to process requests",
      });
    } finally {
      await setClusterReady(c.store, true);
    }
    expectOk(await invoke(c, "calico", { command: "DEL", containerId: id, netns: ctr.path, conf }));
    expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
  });
});

describe("calico ADD failures leave nothing behind", () => {
  it("veth creation clash: no allocation, no endpoint, no host link, the container's own eth0 kept", async () => {
    const ctr = await container();
    await ctr.execOk(["ip", "link", "add", "name", "eth0", "type", "veth", "peer", "name", "other0"]);
    const id = "clash00001";
    const add = await invoke(c, "calico", {
      command: "ADD",
      containerId: id,
      netns: ctr.path,
      conf: netConf(c),
    });
    expect(add.code).toBe(1);
    expect(add.json).toMatchObject({ code: 999 });
    expect(String(add.json?.msg)).toContain("failed to create veth pair");
    expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
    expect(await getWep(c, `${c.node.replaceAll("-", "--")}-cni-${id}-eth0`)).toBeUndefined();
    expect((await c.host.linkNames()).filter((l) => l.startsWith("cali"))).toEqual([]);
    expect(await ctr.linkNames()).toContain("eth0");
  });

  it("a failure after plumbing (host route owned by another interface) removes the veth and releases", async () => {
    const ctr = await container();
    const id = "routeclash1";
    const ip = "10.77.200.9";
    const hostIf = `cali${id.slice(0, 11)}`;
    await c.host.execOk([
      "ip",
      "link",
      "add",
      "name",
      "blocker0",
      "type",
      "veth",
      "peer",
      "name",
      "blocker1",
    ]);
    await c.host.execOk(["ip", "link", "set", "blocker0", "up"]);
    await c.host.execOk(["ip", "route", "add", `${ip}/32`, "dev", "blocker0"]);
    try {
      // calico-ipam honours IP= in CNI_ARGS, which the calico plugin passes through.
      const args = `IP=${ip}`;
      const add = await invoke(c, "calico", {
        command: "ADD",
        containerId: id,
        netns: ctr.path,
        args,
        conf: netConf(c),
      });
      expect(add.code).toBe(1);
      expect(String(add.json?.msg)).toContain(`already exists for an interface other than '${hostIf}'`);
      expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
      expect(await ctr.linkNames()).toEqual(["lo"]);
      expect(await c.host.linkNames()).not.toContain(hostIf);
      expect(await getWep(c, `${c.node.replaceAll("-", "--")}-cni-${id}-eth0`)).toBeUndefined();
    } finally {
      await c.host.exec(["ip", "link", "del", "blocker0"]);
    }
  });

  it("an endpoint the API would refuse (pod name not a DNS name) fails validation and is rolled back", async () => {
    const ctr = await container();
    const args = "K8S_POD_NAMESPACE=default;K8S_POD_NAME=Bad_Pod";
    const add = await invoke(c, "calico", {
      command: "ADD",
      containerId: "badname1",
      netns: ctr.path,
      args,
      conf: netConf(c, { policy: { type: "k8s" } }),
    });
    expect(add.code).toBe(1);
    expect(String(add.json?.msg)).toContain("error with the following fields:");
    expect(String(add.json?.msg)).toMatch(
      /metadata\.name = '.*-k8s-Bad_Pod-eth0' \(name must consist of lower case/,
    );
    expect(await ipsOfHandle(c, "net1.badname1")).toEqual([]);
    expect(await ctr.linkNames()).toEqual(["lo"]);
    expect((await c.host.linkNames()).filter((l) => l.startsWith("cali"))).toEqual([]);
  });

  it("a CNI_NETNS that is the host's own namespace is refused, and nothing is allocated", async () => {
    const add = await invoke(c, "calico", {
      command: "ADD",
      containerId: "hostns0001",
      netns: c.host.path,
      conf: netConf(c),
    });
    expect(add.json).toMatchObject({
      code: 4,
      msg: `CNI_NETNS ${c.host.path} is the host's own network namespace`,
    });
    expect(await c.host.linkNames()).toEqual(["lo"]);
    expect(await ipsOfHandle(c, "net1.hostns0001")).toEqual([]);
  });

  it("datastore not ready: ADD refuses before allocating", async () => {
    const ctr = await container();
    await setClusterReady(c.store, false);
    try {
      const add = await invoke(c, "calico", {
        command: "ADD",
        containerId: "notready1",
        netns: ctr.path,
        conf: netConf(c),
      });
      expect(add.json).toMatchObject({ code: 999, msg: "Calico is currently not ready to process requests" });
      expect(await ipsOfHandle(c, "net1.notready1")).toEqual([]);
    } finally {
      await setClusterReady(c.store, true);
    }
  });
});

describe("concurrency", () => {
  it("parallel ADDs on one node get distinct addresses", async () => {
    const n = 6;
    const ctrs = await Promise.all(Array.from({ length: n }, () => container()));
    const runs = await Promise.all(
      ctrs.map((ctr, i) =>
        invoke(c, "calico", { command: "ADD", containerId: `par${i}`, netns: ctr.path, conf: netConf(c) }),
      ),
    );
    const addrs = runs.map((r) => (expectOk(r).ips as { address: string }[])[0]!.address);
    expect(new Set(addrs).size).toBe(n);
    await Promise.all(
      ctrs.map((ctr, i) =>
        invoke(c, "calico", { command: "DEL", containerId: `par${i}`, netns: ctr.path, conf: netConf(c) }),
      ),
    );
    for (let i = 0; i < n; i++) expect(await ipsOfHandle(c, `net1.par${i}`)).toEqual([]);
  });
});
