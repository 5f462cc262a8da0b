/**
 * Docker networking end to end with a real dockerd (Debian's docker.io) in a node namespace that
 * runs calico-node (Felix): networks backed by Calico pools, containers wired by the calico
 * driver and reaching each other, network isolation until policy allows it, clean removal, a
 * plugin restart, and bad input refused by Docker with the plugin's message.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CalicoClient } from "../../src/client/index.js";
import type { CalicoResourceStore } from "../../src/datastore/index.js";
import { type DockerNode, dockerCli, startPlugin } from "../../src/lab/docker.js";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import type { EtcdServer } from "../support/etcd.js";
import type { Netns } from "../support/netns.js";
import { type DockerHost, dockerMissing as missing, startDockerHost } from "./docker-host.js";

const CALICOCTL = join(import.meta.dirname, "../../bin/calicoctl");
const NODE = "dkhost";
const POOL1 = "10.71.0.0/16";
const POOL2 = "10.72.0.0/16";
const POOL6 = "fd71::/64";
const API = "projectcalico.org/v3";

if (missing.length > 0)
  console.log(`skipping Docker tests: ${missing.join(", ")} not installed (docker.io, busybox-static)`);

let dh: DockerHost | undefined;
let etcd: EtcdServer;
let store: CalicoResourceStore;
let client: CalicoClient;
let host: Netns;
let docker: DockerNode;

const d = (...args: string[]) => (dh as DockerHost).d(...args);

async function dFails(...args: string[]): Promise<string> {
  const out = await dockerCli(docker.socket, args);
  expect(out.code, `docker ${args.join(" ")} should fail`).not.toBe(0);
  return out.stderr;
}

const ipOf = async (name: string) =>
  d("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name);

async function pings(from: string, ip: string): Promise<boolean> {
  return (
    (await dockerCli(docker.socket, ["exec", from, "ping", ip.includes(":") ? "-6" : "-4", "-c1", "-W1", ip]))
      .code === 0
  );
}

async function calicoctl(args: string[]) {
  return run(process.execPath, [CALICOCTL, ...args], {
    env: { PATH: process.env.PATH, ETCD_ENDPOINTS: etcd.endpoint, DATASTORE_TYPE: "etcdv3" },
  });
}

async function libnetworkEndpoints() {
  return (await store.list("WorkloadEndpoint", { namespace: "libnetwork" })).items;
}

async function allocations(): Promise<number> {
  const out = await calicoctl(["ipam", "check"]);
  const m = out.stdout.match(/IPAM blocks record (\d+) allocations/);
  if (!m) throw new Error(`unexpected ipam check output: ${out.stdout}${out.stderr}`);
  return Number(m[1]);
}

beforeAll(async () => {
  if (missing.length > 0) return;
  dh = await startDockerHost({
    prefix: "cts-dk",
    node: NODE,
    pool: POOL1,
    pluginEnv: { CALICO_LIBNETWORK_LABEL_ENDPOINTS: "true" },
  });
  ({ etcd, store, client, host, docker } = dh);
  await client.create({
    apiVersion: API,
    kind: "IPPool",
    metadata: { name: "pool2" },
    spec: { cidr: POOL2 },
  });
}, 240_000);

afterAll(async () => {
  await dh?.stop();
}, 120_000);

describe.skipIf(missing.length > 0)("Docker with the calico drivers", () => {
  it("refuses bad networks with the plugin's message and allocates nothing", async () => {
    expect(
      await dFails(
        "network",
        "create",
        "-d",
        "calico",
        "--ipam-driver",
        "calico-ipam",
        "--subnet",
        "10.99.0.0/16",
        "bad1",
      ),
    ).toMatch(/10\.99\.0\.0\/16 must match the CIDR of a configured Calico IP Pool/);
    expect(await dFails("network", "create", "-d", "calico", "--subnet", POOL1, "bad2")).toMatch(
      /Non-Calico IPAM driver is used/,
    );
    expect(
      await dFails(
        "network",
        "create",
        "-d",
        "calico",
        "--ipam-driver",
        "calico-ipam",
        "-o",
        "foo=bar",
        "bad3",
      ),
    ).toMatch(/Calico driver does not support the flag foo/);
    expect(
      await dFails("network", "create", "-d", "calico", "--ipam-driver", "calico-ipam", "--internal", "bad4"),
    ).toMatch(/does not support the flag --internal/);
    expect(await d("network", "ls", "--format", "{{.Name}}")).not.toMatch(/bad/);
    expect(await allocations()).toBe(0);
    expect((await store.list("Profile")).items.map((p) => p.metadata.name)).not.toContain("bad3");
  }, 60_000);

  it("wires two containers of a network: pool addresses, endpoints, host routes, reachability, labels", async () => {
    await d(
      "network",
      "create",
      "--driver",
      "calico",
      "--ipam-driver",
      "calico-ipam",
      "--subnet",
      POOL1,
      "net1",
    );
    await eventually(async () => {
      const p = await store.get({ kind: "Profile", name: "net1" });
      expect(p.spec).toMatchObject({ labelsToApply: { net1: "" } });
    }, 15_000);
    await d(
      "run",
      "-d",
      "--name",
      "a1",
      "--net",
      "net1",
      "--label",
      "org.projectcalico.label.role=web",
      "busybox",
      "sleep",
      "3600",
    );
    await d("run", "-d", "--name", "a2", "--net", "net1", "busybox", "sleep", "3600");
    const ip1 = await ipOf("a1");
    const ip2 = await ipOf("a2");
    expect(ip1).toMatch(/^10\.71\./);
    expect(ip2).toMatch(/^10\.71\./);
    expect(await d("exec", "a1", "ip", "route")).toMatch(/default via 169\.254\.1\.1 dev cali0/);

    const weps = await libnetworkEndpoints();
    expect(weps.map((w) => (w.spec as { ipNetworks: string[] }).ipNetworks[0]).sort()).toEqual(
      [`${ip1}/32`, `${ip2}/32`].sort(),
    );
    for (const w of weps) {
      const s = w.spec as {
        interfaceName: string;
        ipNetworks: string[];
        orchestrator: string;
        profiles: string[];
      };
      expect(s.orchestrator).toBe("libnetwork");
      expect(s.profiles).toEqual(["net1"]);
      const routes = await host.ipJson<{ dev: string }[]>([
        "route",
        "show",
        "exact",
        s.ipNetworks[0] as string,
      ]);
      expect(routes.map((r) => r.dev)).toEqual([s.interfaceName]);
    }
    await eventually(async () => expect(await pings("a1", ip2)).toBe(true), 20_000, 200);
    expect(await pings("a2", ip1)).toBe(true);
    await eventually(async () => {
      const a1 = (await libnetworkEndpoints()).find(
        (w) => (w.spec as { ipNetworks: string[] }).ipNetworks[0] === `${ip1}/32`,
      );
      expect(a1?.metadata.labels?.role).toBe("web");
    }, 15_000);
  }, 120_000);

  it("isolates a second network until a policy allows it; a restarted plugin loses nothing", async () => {
    await d(
      "network",
      "create",
      "--driver",
      "calico",
      "--ipam-driver",
      "calico-ipam",
      "--subnet",
      POOL2,
      "net2",
    );
    await d("run", "-d", "--name", "b1", "--net", "net2", "busybox", "sleep", "3600");
    const ipb = await ipOf("b1");
    const ip2 = await ipOf("a2");
    expect(ipb).toMatch(/^10\.72\./);
    // Reachable once Felix has programmed b1 (its own network), yet closed to net1.
    await d("run", "-d", "--name", "b2", "--net", "net2", "busybox", "sleep", "3600");
    await eventually(async () => expect(await pings("b2", ipb)).toBe(true), 20_000, 200);
    expect(await pings("a1", ipb)).toBe(false);
    expect(await pings("b1", ip2)).toBe(false);

    await client.create({
      apiVersion: API,
      kind: "GlobalNetworkPolicy",
      metadata: { name: "net1-to-net2" },
      spec: {
        selector: "has(net2)",
        types: ["Ingress"],
        ingress: [
          { action: "Allow", source: { selector: "has(net1)" } },
          { action: "Allow", source: { selector: "has(net2)" } },
        ],
      },
    });
    await eventually(async () => expect(await pings("a1", ipb)).toBe(true), 20_000, 200);
    expect(await pings("b1", ip2)).toBe(false);

    await startPlugin(docker);
    await d("run", "-d", "--name", "a3", "--net", "net1", "busybox", "sleep", "3600");
    const ip3 = await ipOf("a3");
    await eventually(async () => expect(await pings("a3", ip2)).toBe(true), 20_000, 200);
    expect(await pings("a1", ipb)).toBe(true);
    expect(await libnetworkEndpoints()).toHaveLength(5);
    expect(ip3).toMatch(/^10\.71\./);
  }, 150_000);

  it("gives an --ipv6 network addresses of both families from the default pools, reachable over IPv6", async () => {
    // Without an IPv6 pool the network is refused up front (Docker would keep a container's
    // IPv4 address if only its IPv6 request failed).
    const create6 = [
      "network",
      "create",
      "--ipv6",
      "--driver",
      "calico",
      "--ipam-driver",
      "calico-ipam",
      "net6",
    ];
    expect(await dFails(...create6)).toMatch(/No enabled IPv6 Calico IP Pool is configured/);
    await client.create({
      apiVersion: API,
      kind: "IPPool",
      metadata: { name: "pool6" },
      spec: { cidr: POOL6 },
    });
    await d(...create6);
    await d("run", "-d", "--name", "v1", "--net", "net6", "busybox", "sleep", "3600");
    await d("run", "-d", "--name", "v2", "--net", "net6", "busybox", "sleep", "3600");
    const v6 = await d(
      "inspect",
      "-f",
      "{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}",
      "v2",
    );
    expect(v6).toMatch(/^fd71::/);
    expect(await ipOf("v2")).toMatch(/^10\.7[12]\./);
    expect(await d("exec", "v1", "ip", "-6", "route")).toMatch(
      /default via fe80::ecee:eeff:feee:eeee dev cali0/,
    );
    await eventually(async () => expect(await pings("v1", v6)).toBe(true), 20_000, 200);
  }, 90_000);

  it("docker rm -f and network rm leave no veth, route, endpoint, profile or allocation", async () => {
    await d("rm", "-f", "a1", "a2", "a3", "b1", "b2", "v1", "v2");
    await d("network", "rm", "net1", "net2", "net6");
    expect((await host.linkNames()).filter((l) => l.startsWith("cali") || l.startsWith("temp"))).toEqual([]);
    // Workload routes are host routes; the node's block routes (its affinity) rightly stay.
    const routes = [
      ...(await host.ipJson<{ dst: string }[]>(["route", "show"])),
      ...(await host.ipJson<{ dst: string }[]>(["-6", "route", "show"])),
    ];
    const workloadRoutes = routes.filter((r) => /^(10\.7[12]\.|fd71:)/.test(r.dst) && !r.dst.includes("/"));
    expect(workloadRoutes).toEqual([]);
    expect(await libnetworkEndpoints()).toEqual([]);
    const profiles = (await store.list("Profile")).items.map((p) => p.metadata.name);
    expect(profiles).not.toContain("net1");
    expect(profiles).not.toContain("net2");
    const check = await calicoctl(["ipam", "check"]);
    expect(check.stdout).toMatch(/IPAM blocks record 0 allocations/);
    expect(check.stdout).toMatch(/found 0 problems/);
  }, 90_000);
});
