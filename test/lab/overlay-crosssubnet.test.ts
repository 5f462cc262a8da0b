/**
 * VXLAN CrossSubnet on an L3 fabric with jumbo frames: pods in the same subnet talk plainly (no
 * UDP 4789 on that link), pods across subnets only through the tunnel; Felix derives 8950 from a
 * 9000-byte fabric and large transfers cross intact both ways. Bad overlay input is refused
 * before anything is made: lab flags, IPIP on a kernel without it, and resources calicoctl
 * refuses with Calico's messages.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { expectedDigest, SEND_TCP_SCRIPT, SINK_SCRIPT } from "../support/transfer.js";
import { LabCli, waitForOutput } from "./cli.js";

let lab: LabCli;

beforeAll(async () => {
  lab = await LabCli.create("vxc");
  await lab.ok("up", "--nodes", "3", "--fabric", "l3", "--encap", "vxlan", "--cross-subnet", "--mtu", "9000");
  await lab.ok("namespace", "create", "dev");
  for (const [name, node] of [
    ["a", "node1"],
    ["b", "node2"],
    ["c", "node3"],
  ] as const)
    await lab.ok("pod", "create", `dev/${name}`, "--node", node, "--serve", "tcp:80");
}, 180_000);

afterAll(async () => {
  await lab?.down();
}, 60_000);

/**
 * Packets on a node's fabric link while `traffic` runs, by tcpdump filter. The capture runs until
 * `expected` has been seen (so it is known complete) before the filters are answered.
 */
async function capture(
  port: string,
  traffic: () => Promise<void>,
  expected: string,
): Promise<(filter: string) => Promise<string[]>> {
  const fabric = `${lab.prefix}-fabric`;
  const file = join(lab.dir, `${port}-${Date.now()}.pcap`);
  const dump = lab.spawnIn(fabric, ["tcpdump", "-nn", "-U", "-i", port, "-w", file]);
  await waitForOutput(dump, "listening on");
  const read = async (filter: string) =>
    (await lab.inNetns(fabric, ["tcpdump", "-nn", "-r", file, filter])).stdout
      .split("\n")
      .filter((l) => l.trim());
  await traffic();
  await eventually(async () => expect((await read(expected)).length).toBeGreaterThan(0), 10_000, 200);
  dump.kill("SIGINT");
  await new Promise((r) => dump.once("exit", r));
  return read;
}

async function transfer(from: string, to: string, size: number): Promise<string> {
  const ip = lab.state().pods[to]?.ip as string;
  return (
    await lab.inNetns(lab.podNetns(from), [process.execPath, "-e", SEND_TCP_SCRIPT, ip, String(size)])
  ).stdout.trim();
}

describe("VXLAN CrossSubnet", () => {
  it("routes same-subnet blocks plainly via the node and other subnets' blocks through vxlan.calico", async () => {
    const routes = (await lab.inNetns(lab.nodeNetns("node1"), ["ip", "route", "show", "proto", "80"])).stdout;
    expect(routes).toMatch(/10\.244\.\d+\.\d+\/26 via 172\.30\.1\.3 dev eth0 onlink/);
    expect(routes).toMatch(/10\.244\.\d+\.\d+\/26 via 10\.244\.\d+\.\d+ dev vxlan\.calico onlink/);
    expect(routes).not.toMatch(/via 172\.30\.2\.2/);
  });

  it("same-subnet pod traffic is plain on the wire, cross-subnet traffic is only UDP 4789", async () => {
    const sameSubnet = await capture(
      "n3",
      async () => expect((await lab.run("probe", "dev/a", "dev/c", "--port", "80")).code).toBe(0),
      "tcp port 80 and net 10.244.0.0/16",
    );
    expect(await sameSubnet("udp port 4789")).toEqual([]);
    const crossSubnet = await capture(
      "n2",
      async () => expect((await lab.run("probe", "dev/a", "dev/b", "--port", "80")).code).toBe(0),
      "udp port 4789",
    );
    expect(await crossSubnet("not udp port 4789 and net 10.244.0.0/16")).toEqual([]);
  });

  it("derives 8950 from a 9000-byte fabric; 4 MB crosses intact both plainly and through the tunnel", async () => {
    expect(await lab.ok("status")).toMatch(/node1\s+\S+\s+\S+\s+\S+\s+8950\s+ready/);
    for (const target of ["dev/b", "dev/c"]) {
      const sink = lab.spawnIn(lab.podNetns(target), [process.execPath, "-e", SINK_SCRIPT]);
      await waitForOutput(sink, "ready");
      expect(await transfer("dev/a", target, 4_000_000)).toBe(expectedDigest(4_000_000));
      sink.kill("SIGKILL");
    }
  });
});

describe("bad overlay input", () => {
  it("refuses inconsistent lab flags with exit 2 and a message, making nothing", async () => {
    const other = await LabCli.create("vxbad");
    const cases: Array<[string[], string]> = [
      [["--cross-subnet"], "--cross-subnet needs --encap vxlan or ipip"],
      [["--encap", "gre"], "--encap must be vxlan, ipip or none, not 'gre'"],
      [["--fabric", "l3", "--subnets", "1"], "--subnets must be between 2 and 8"],
      [["--mtu", "100"], "--mtu must be between 1280 and 9000"],
    ];
    for (const [args, message] of cases) {
      const out = await other.run("up", ...args);
      expect(out.code, args.join(" ")).toBe(2);
      expect(out.stderr).toContain(message);
    }
    expect(existsSync(other.dir)).toBe(false);
    await other.down();
  });

  it("refuses --encap ipip on a kernel without the ipip module, naming why, leaving nothing", async (ctx) => {
    const probe = `${lab.prefix}-ipipprobe`;
    await run("ip", ["netns", "add", probe]);
    const ipip = await run("ip", ["-n", probe, "link", "add", "name", "tunl0", "type", "ipip"]);
    await run("ip", ["netns", "del", probe]);
    if (ipip.code === 0) {
      console.log("skipped: this kernel has the ipip module, so `--encap ipip` is not refused here");
      ctx.skip();
    }
    const other = await LabCli.create("vxipip");
    const out = await other.run("up", "--fabric", "l3", "--encap", "ipip");
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("--encap ipip needs the kernel's ipip module");
    expect(existsSync(join(other.dir, "state.json"))).toBe(false);
    const left = (await run("ip", ["netns", "list"])).stdout;
    expect(left).not.toContain(`${other.prefix}-`);
    await other.down();
  });

  it("calicoctl refuses a pool with both encapsulations, an unknown mode and an out-of-range VNI, writing nothing", async () => {
    const file = join(lab.dir, "bad-overlay.yaml");
    await writeFile(
      file,
      `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: both}
spec: {cidr: 10.90.0.0/16, ipipMode: Always, vxlanMode: Always}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: odd}
spec: {cidr: 10.91.0.0/16, vxlanMode: Sometimes}
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: vni}
spec: {vxlanVNI: 16777216}
`,
    );
    await expect(lab.calicoctl("apply", "-f", file)).rejects.toThrow(
      /ipipMode and vxlanMode cannot both be enabled/,
    );
    await expect(lab.calicoctl("create", "-f", file)).rejects.toThrow(
      /supported values: "Never", "Always", "CrossSubnet"/,
    );
    await expect(lab.calicoctl("validate", "-f", file)).rejects.toThrow(
      /vxlanVNI = '16777216' \(should be less than or equal to 16777215\)/,
    );
    const pools = await lab.calicoctl("get", "ippools");
    expect(pools).not.toContain("10.90.0.0");
    expect(pools).not.toContain("10.91.0.0");
    expect(await lab.calicoctl("get", "felixconfigurations")).not.toMatch(/^vni/m);
  });
});
