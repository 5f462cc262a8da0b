/**
 * Docker networking end to end with a real dockerd (Debian's docker.io) in a node namespace that
 * runs calico-node (Felix): networks backed by Calico pools, containers wired by the calico
 * driver and reaching each other, network isolation until policy allows it, clean removal, a
 * plugin restart, and bad input refused by Docker with the plugin's message.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CalicoClient } from "../../src/client/index.js";
import { CalicoResourceStore, EtcdKV } from "../../src/datastore/index.js";
import { type DockerNode, dockerCli, dockerDown, dockerUp, startPlugin } from "../../src/lab/docker.js";
import { attachHost, createBridge } from "../../src/lab/fabric.js";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { createNetns, type Forward, forwardIntoNetns, type Netns, removeAll } from "../support/netns.js";

const NODE_BIN = join(import.meta.dirname, "../../bin/calico-node");
const CALICOCTL = join(import.meta.dirname, "../../bin/calicoctl");
const NODE = "dkhost";
const POOL1 = "10.71.0.0/16";
const POOL2 = "10.72.0.0/16";
const API = "projectcalico.org/v3";

const missing = ["/usr/sbin/dockerd", "/usr/bin/docker", "/bin/busybox"].filter((p) => !existsSync(p));
if (missing.length > 0)
  console.log(`skipping Docker tests: ${missing.join(", ")} not installed (docker.io, busybox-static)`);

let dir: string;
let etcd: EtcdServer;
let kv: EtcdKV;
let store: CalicoResourceStore;
let client: CalicoClient;
let fabric: Netns;
let host: Netns;
let fwd: Forward;
let docker: DockerNode | undefined;

async function d(...args: string[]): Promise<string> {
  const out = await dockerCli((docker as DockerNode).socket, args);
  if (out.code !== 0) throw new Error(`docker ${args.join(" ")} failed: ${out.stderr}`);
  return out.stdout.trim();
}

async function dFails(...args: string[]): Promise<string> {
  const out = await dockerCli((docker as DockerNode).socket, args);
  expect(out.code, `docker ${args.join(" ")} should fail`).not.toBe(0);
  return out.stderr;
}

const ipOf = async (name: string) =>
  d("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name);

async function pings(from: string, ip: string): Promise<boolean> {
  return (
    (await dockerCli((docker as DockerNode).socket, ["exec", from, "ping", "-c1", "-W1", ip])).code === 0
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
  dir = await mkdtemp(join(tmpdir(), "cts-docker-"));
  etcd = await startEtcd();
  kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  store = new CalicoResourceStore(kv);
  client = new CalicoClient(store);
  fabric = await createNetns("cts-dkf");
  await createBridge(fabric.name, "172.28.0.254/24");
  host = await createNetns("cts-dkh");
  await attachHost(fabric.name, "h1", { netns: host.name, address: "172.28.0.1/24" });
  // Proxy ARP answers for 169.254.1.1 only when the host has a route for it.
  await host.execOk(["ip", "route", "add", "default", "via", "172.28.0.254"]);
  const url = new URL(etcd.endpoint);
  fwd = await forwardIntoNetns(host, { host: url.hostname, port: Number(url.port) });
  const nodeEnv = {
    PATH: process.env.PATH,
    NODENAME: NODE,
    ETCD_ENDPOINTS: fwd.url,
    IP: "autodetect",
    IP_AUTODETECTION_METHOD: "interface=eth0",
    CALICO_IPV4POOL_CIDR: POOL1,
    CALICO_NODENAME_FILE: join(dir, "nodename"),
    CALICO_RUN_DIR: join(dir, "run"),
    CALICO_CONFD_DIR: join(dir, "confd"),
    FELIX_HEALTHENABLED: "true",
    FELIX_LOGFILEPATH: "none",
    FELIX_LOGSEVERITYSCREEN: "Warning",
  };
  const { spawn } = await import("node:child_process");
  spawn("nsenter", [`--net=${host.path}`, process.execPath, NODE_BIN], { env: nodeEnv, stdio: "ignore" });
  await eventually(
    async () => {
      const r = await run("nsenter", [`--net=${host.path}`, process.execPath, NODE_BIN, "-felix-ready"], {
        env: nodeEnv,
      });
      if (r.code !== 0) throw new Error(`calico-node not ready: ${r.stderr}`);
    },
    90_000,
    500,
  );
  await client.create({
    apiVersion: API,
    kind: "IPPool",
    metadata: { name: "pool2" },
    spec: { cidr: POOL2 },
  });
  docker = await dockerUp({
    netnsPath: host.path,
    dir: join(dir, "docker"),
    nodename: NODE,
    etcdEndpoints: fwd.url,
    pluginEnv: { CALICO_LIBNETWORK_LABEL_ENDPOINTS: "true" },
  });
}, 240_000);

afterAll(async () => {
  if (docker) await dockerDown(docker);
  if (host) {
    const pids = (await run("ip", ["netns", "pids", host.name])).stdout;
    for (const pid of pids.split("\n").filter((x) => x.trim())) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
  await fwd?.close();
  await removeAll();
  await kv?.close();
  await etcd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
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

    await startPlugin(docker as DockerNode);
    await d("run", "-d", "--name", "a3", "--net", "net1", "busybox", "sleep", "3600");
    const ip3 = await ipOf("a3");
    await eventually(async () => expect(await pings("a3", ip2)).toBe(true), 20_000, 200);
    expect(await pings("a1", ipb)).toBe(true);
    expect(await libnetworkEndpoints()).toHaveLength(5);
    expect(ip3).toMatch(/^10\.71\./);
  }, 150_000);

  it("docker rm -f and network rm leave no veth, route, endpoint, profile or allocation", async () => {
    await d("rm", "-f", "a1", "a2", "a3", "b1", "b2");
    await d("network", "rm", "net1", "net2");
    expect((await host.linkNames()).filter((l) => l.startsWith("cali") || l.startsWith("temp"))).toEqual([]);
    // Workload routes are host routes; the node's block routes (its affinity) rightly stay.
    const routes = await host.ipJson<{ dst: string }[]>(["route", "show"]);
    const workloadRoutes = routes.filter((r) => /^10\.7[12]\./.test(r.dst) && !r.dst.includes("/"));
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
