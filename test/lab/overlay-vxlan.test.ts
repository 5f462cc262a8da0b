/**
 * VXLAN Always on an L3 fabric, through calico-lab and calicoctl as a user would: three nodes in
 * two subnets behind a router that knows no pod address, a 1450-byte fabric. Every pod reaches
 * every pod and the wire shows only UDP 4789 between nodes; Felix picks 1400 for the tunnel and
 * the pods and full-size transfers cross intact; NAT outgoing and a Kubernetes NetworkPolicy work
 * over the tunnel; a node that joins is reached at once and leaves nothing behind when it goes.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentSocketPath } from "../../src/cni/index.js";
import { eventually } from "../support/datastore.js";
import { expectedDigest, SEND_TCP_SCRIPT, SEND_UDP_SCRIPT, SINK_SCRIPT } from "../support/transfer.js";
import { LabCli, waitForOutput } from "./cli.js";

let lab: LabCli;

beforeAll(async () => {
  lab = await LabCli.create("vxl");
  await lab.ok("up", "--nodes", "3", "--fabric", "l3", "--encap", "vxlan", "--mtu", "1450");
  await lab.ok("namespace", "create", "dev");
  for (const [name, node, app] of [
    ["a", "node1", "client"],
    ["b", "node2", "web"],
    ["c", "node3", "other"],
  ] as const)
    await lab.ok(
      "pod",
      "create",
      `dev/${name}`,
      "--node",
      node,
      "--labels",
      `app=${app}`,
      "--serve",
      "tcp:80",
    );
}, 180_000);

afterAll(async () => {
  await lab?.down();
}, 60_000);

async function transfer(from: string, toIp: string, size: number): Promise<string> {
  return (
    await lab.inNetns(lab.podNetns(from), [process.execPath, "-e", SEND_TCP_SCRIPT, toIp, String(size)])
  ).stdout.trim();
}

describe("VXLAN Always on an L3 fabric", () => {
  it("status shows each node's subnet, tunnel address and MTU", async () => {
    const status = await lab.ok("status");
    expect(status).toContain("encapsulation vxlan Always, fabric MTU 1450");
    const rows = status.split("\n").filter((l) => /^node\d/.test(l));
    expect(rows).toHaveLength(3);
    for (const row of rows)
      expect(row).toMatch(
        /^node\d\s+172\.30\.(\d)\.\d+\s+172\.30\.\1\.0\/24\s+10\.244\.\d+\.\d+\s+1400\s+ready$/,
      );
  });

  it("every pod reaches every pod across subnets, and the fabric carries only UDP 4789 between nodes", async () => {
    const fabric = `${lab.prefix}-fabric`;
    const dump = lab.spawnIn(fabric, ["tcpdump", "-nn", "-U", "-i", "n2", "-w", `${lab.dir}/n2.pcap`]);
    await waitForOutput(dump, "listening on");
    expect(Object.values(await lab.matrix()).every((r) => r)).toBe(true);
    const read = async (filter: string) =>
      (await lab.inNetns(fabric, ["tcpdump", "-nn", "-r", `${lab.dir}/n2.pcap`, filter])).stdout
        .split("\n")
        .filter((l) => l.trim());
    // Seen at least once before stopping, so the capture is known to hold the matrix's traffic.
    await eventually(
      async () => expect((await read("udp port 4789")).length).toBeGreaterThan(0),
      10_000,
      200,
    );
    dump.kill("SIGINT");
    await new Promise((r) => dump.once("exit", r));
    expect(await read("not udp port 4789 and net 10.244.0.0/16")).toEqual([]);
  });

  it("the pods' interfaces have the MTU Felix chose, and full-size TCP and a 1472-byte UDP datagram cross intact", async () => {
    const link = await lab.inNetns(lab.podNetns("dev/a"), ["ip", "-j", "link", "show", "eth0"]);
    expect(JSON.parse(link.stdout)[0].mtu).toBe(1400);
    const b = lab.state().pods["dev/b"]?.ip as string;
    const sink = lab.spawnIn(lab.podNetns("dev/b"), [process.execPath, "-e", SINK_SCRIPT]);
    await waitForOutput(sink, "ready");
    expect(await transfer("dev/a", b, 4_000_000)).toBe(expectedDigest(4_000_000));
    const udp = await lab.inNetns(lab.podNetns("dev/a"), [
      process.execPath,
      "-e",
      SEND_UDP_SCRIPT,
      b,
      "1472",
    ]);
    expect(udp.stdout.trim()).toBe("1472");
    sink.kill("SIGKILL");
  });

  it("the host reaches remote pods through the tunnel with its tunnel address as source", async () => {
    const node1 = lab.nodeNetns("node1");
    const b = lab.state().pods["dev/b"]?.ip as string;
    const tunnel = /node1\s+\S+\s+\S+\s+(\S+)/.exec(await lab.ok("status"))?.[1] as string;
    const route = (await lab.inNetns(node1, ["ip", "route", "get", b])).stdout;
    expect(route).toContain("dev vxlan.calico");
    expect(route).toContain(`src ${tunnel}`);
    const probe = join(import.meta.dirname, "../../dist/lab/pod-probe.js");
    expect((await lab.inNetns(node1, [process.execPath, probe, "tcp", b, "80", "2000"])).stdout.trim()).toBe(
      "open",
    );
  });

  it("NAT outgoing takes pods out through their node to a fabric address that has no route back to pods", async () => {
    const fabric = `${lab.prefix}-fabric`;
    const sink = lab.spawnIn(fabric, [process.execPath, "-e", SINK_SCRIPT]);
    await waitForOutput(sink, "ready");
    expect(await transfer("dev/b", "172.30.1.254", 100_000)).toBe(expectedDigest(100_000));
    sink.kill("SIGKILL");
  });

  it("a Kubernetes NetworkPolicy is enforced across the tunnel", async () => {
    await lab.apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-client, namespace: dev}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
`);
    await eventually(async () => {
      const m = await lab.matrix();
      expect(m["dev/a>dev/b"]).toBe(true);
      expect(m["dev/c>dev/b"]).toBe(false);
      expect(m["dev/b>dev/c"]).toBe(true);
    }, 20_000);
  }, 60_000);

  it("a node that joins is reached over VXLAN, and when it leaves its VTEP entries and routes go", async () => {
    const added = (await lab.ok("node", "add")).trim();
    expect(added).toMatch(/^node4 172\.30\.2\.4$/);
    await lab.ok("pod", "create", "dev/d", "--node", "node4", "--serve", "tcp:80");
    const tunnel = /node4\s+\S+\s+\S+\s+(\S+)/.exec(await lab.ok("status"))?.[1] as string;
    expect(tunnel).toMatch(/^10\.244\./);
    const node1 = lab.nodeNetns("node1");
    const neigh = async () =>
      (await lab.inNetns(node1, ["ip", "neigh", "show", "dev", "vxlan.calico"])).stdout;
    const fdb = async () =>
      (await lab.inNetns(node1, ["bridge", "fdb", "show", "dev", "vxlan.calico"])).stdout;
    expect(await neigh()).toContain(tunnel);
    expect(await fdb()).toContain("dst 172.30.2.4");
    await eventually(
      async () => expect((await lab.run("probe", "dev/a", "dev/d", "--port", "80")).code).toBe(0),
      10_000,
    );

    await lab.ok("pod", "delete", "dev/d");
    const node4Agent = agentSocketPath(`/run/netns/${lab.nodeNetns("node4")}`);
    expect(existsSync(node4Agent)).toBe(true);
    await lab.ok("node", "remove", "node4");
    expect(existsSync(node4Agent)).toBe(false);
    await eventually(async () => {
      expect(await neigh()).not.toContain(tunnel);
      expect(await fdb()).not.toContain("172.30.2.4");
      expect((await lab.inNetns(node1, ["ip", "route"])).stdout).not.toContain(`via ${tunnel}`);
    }, 15_000);
    expect(await lab.calicoctl("get", "nodes")).not.toContain("node4");
    const check = await lab.calicoctl("ipam", "check");
    expect(check).toContain("Check complete; found 0 problems.");
  }, 120_000);
});
