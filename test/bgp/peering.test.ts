/**
 * A node peering with a data-centre router, with the configuration calico-ts renders for a
 * global BGPPeer: the router, played by GoBGP and then by FRR (zebra + bgpd, both from Debian),
 * learns the node's block; FRR also installs it in its kernel.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BirdProcess, renderBirdConfig, startBird } from "../../src/bgp/index.js";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { createNetns, type Netns, removeAll } from "../support/netns.js";
import { node, peer, pool } from "./fixtures.js";

let dir: string;
let nodeNs: Netns;
let routerNs: Netns;
let bird: BirdProcess;
const children: ChildProcess[] = [];

async function renderFor(routerAs: number): Promise<string> {
  const file = join(dir, "bird.cfg");
  await writeFile(
    file,
    renderBirdConfig({
      nodeName: "node1",
      nodes: [node("node1", "172.27.0.1/24")],
      peers: [peer("tor", { peerIP: "172.27.0.254", asNumber: routerAs })],
      configs: [],
      pools: [pool("10.65.0.0/16")],
      blocks: ["10.65.1.0/26"],
    }),
  );
  return file;
}

function daemon(argv: string[]): ChildProcess {
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: "ignore" });
  children.push(child);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-peer-"));
  await chmod(dir, 0o755);
  nodeNs = await createNetns("cts-pn");
  routerNs = await createNetns("cts-pr");
  await nodeNs.execOk([
    "ip",
    "link",
    "add",
    "name",
    "eth0",
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "netns",
    routerNs.name,
  ]);
  for (const [ns, ip] of [
    [nodeNs, "172.27.0.1/24"],
    [routerNs, "172.27.0.254/24"],
  ] as const) {
    await ns.execOk(["ip", "addr", "add", ip, "dev", "eth0"]);
    await ns.execOk(["ip", "link", "set", "eth0", "up"]);
    await ns.execOk(["ip", "link", "set", "lo", "up"]);
  }
}, 30_000);

afterAll(async () => {
  for (const c of children) await stop(c);
  await bird?.stop();
  await nodeNs?.remove();
  await routerNs?.remove();
  await removeAll();
  await rm(dir, { recursive: true, force: true });
});

describe("peering with a data-centre router", () => {
  it("GoBGP learns the node's block over eBGP", async () => {
    const conf = join(dir, "gobgpd.toml");
    await writeFile(
      conf,
      `[global.config]
  as = 65001
  router-id = "172.27.0.254"
  local-address-list = ["172.27.0.254"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "172.27.0.1"
    peer-as = 64512
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`,
    );
    const gobgpd = daemon([
      "nsenter",
      `--net=${routerNs.path}`,
      "gobgpd",
      "-f",
      conf,
      "-t",
      "toml",
      "--api-hosts",
      "127.0.0.1:50051",
    ]);
    bird = await startBird({
      configFile: await renderFor(65001),
      socketPath: join(dir, "bird.ctl"),
      argvPrefix: ["nsenter", `--net=${nodeNs.path}`],
    });
    await eventually(
      async () => {
        const rib = await run("nsenter", [
          `--net=${routerNs.path}`,
          "gobgp",
          "-u",
          "127.0.0.1",
          "-p",
          "50051",
          "global",
          "rib",
          "-a",
          "ipv4",
        ]);
        expect(rib.stdout).toMatch(/10\.65\.1\.0\/26\s+172\.27\.0\.1\s+64512/);
      },
      20_000,
      300,
    );
    const sessions = await bird.client.showProtocols();
    expect(sessions.find((p) => p.name === "Global_172_27_0_254")?.info).toBe("Established");
    await bird.stop();
    await stop(gobgpd);
  }, 40_000);

  it("FRR learns the node's block and installs it in its kernel", async () => {
    const frr = join(dir, "frr");
    await run("mkdir", ["-p", frr]);
    const ids = (await run("id", ["-u", "frr"])).stdout.trim();
    const gid = (await run("id", ["-g", "frr"])).stdout.trim();
    await writeFile(join(frr, "zebra.conf"), "hostname cts-zebra\n");
    await writeFile(
      join(frr, "bgpd.conf"),
      `frr defaults traditional
hostname cts-frr
router bgp 65002
 bgp router-id 172.27.0.254
 no bgp ebgp-requires-policy
 neighbor 172.27.0.1 remote-as 64512
 neighbor 172.27.0.1 timers 3 9
 neighbor 172.27.0.1 timers connect 1
!
`,
    );
    for (const f of ["", "zebra.conf", "bgpd.conf"]) await chown(join(frr, f), Number(ids), Number(gid));
    const common = ["-z", join(frr, "zserv.api"), "--vty_socket", frr, "-u", "frr", "-g", "frr"];
    daemon([
      "nsenter",
      `--net=${routerNs.path}`,
      "/usr/lib/frr/zebra",
      "-f",
      join(frr, "zebra.conf"),
      "-i",
      join(frr, "zebra.pid"),
      ...common,
    ]);
    await new Promise((r) => setTimeout(r, 500));
    daemon([
      "nsenter",
      `--net=${routerNs.path}`,
      "/usr/lib/frr/bgpd",
      "-f",
      join(frr, "bgpd.conf"),
      "-i",
      join(frr, "bgpd.pid"),
      ...common,
    ]);
    bird = await startBird({
      configFile: await renderFor(65002),
      socketPath: join(dir, "bird2.ctl"),
      argvPrefix: ["nsenter", `--net=${nodeNs.path}`],
    });
    await eventually(
      async () => {
        const routes = (await routerNs.execOk(["ip", "route", "show", "proto", "bgp"])).stdout;
        expect(routes).toContain("10.65.1.0/26 nhid");
        expect(routes).toContain("via 172.27.0.1 dev eth0");
      },
      30_000,
      500,
    );
  }, 60_000);
});
