/**
 * Interoperation with the reference plugins from Debian's containernetworking-plugins: host-local
 * as the delegated IPAM, and a conflist `[calico, portmap, bandwidth]` run the way libcni runs it
 * (each plugin gets the previous result as prevResult; DEL in reverse order).
 */
import { mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
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
  startCluster,
} from "./harness.js";

let c: Cluster;
const containers: Netns[] = [];

beforeAll(async () => {
  c = await startCluster({ prefix: "cts-cni-chain" });
});
afterEach(async () => {
  for (const ns of containers.splice(0)) await ns.remove();
});
afterAll(async () => {
  await c?.stop();
});

async function container(): Promise<Netns> {
  const ns = await newContainer();
  containers.push(ns);
  return ns;
}

describe("host-local IPAM delegation", () => {
  it("ADD takes an address from host-local; DEL gives it back", async () => {
    const ctr = await container();
    const dataDir = join(c.dir, "host-local");
    const conf = netConf(c, {
      cniVersion: "0.4.0",
      name: "hlnet",
      ipam: { type: "host-local", subnet: "10.99.0.0/24", dataDir },
    });
    const result = expectOk(
      await invoke(c, "calico", { command: "ADD", containerId: "hostlocal1", netns: ctr.path, conf }),
    );
    const ips = result.ips as { version: string; address: string; gateway?: string; interface: number }[];
    expect(ips).toHaveLength(1);
    expect(ips[0]).toMatchObject({ version: "4", interface: 1 });
    expect(ips[0]!.address).toMatch(/^10\.99\.0\.\d+\/32$/);
    // host-local's gateway is dropped: the pod's gateway is always 169.254.1.1.
    expect(ips[0]!.gateway).toBeUndefined();
    const ip = ips[0]!.address.split("/")[0]!;
    expect(await readdir(join(dataDir, "hlnet"))).toContain(ip);
    const wep = await getWep(c, `${c.node.replaceAll("-", "--")}-cni-hostlocal1-eth0`);
    expect(wep?.spec).toMatchObject({ ipNetworks: [`${ip}/32`] });
    expect(await ipsOfHandle(c, "hlnet.hostlocal1")).toEqual([]);

    expectOk(await invoke(c, "calico", { command: "DEL", containerId: "hostlocal1", netns: ctr.path, conf }));
    expect(await readdir(join(dataDir, "hlnet"))).not.toContain(ip);
    expect(await getWep(c, `${c.node.replaceAll("-", "--")}-cni-hostlocal1-eth0`)).toBeUndefined();
  });
});

interface PluginConf {
  type: string;
  [k: string]: unknown;
}

/** What libcni does for one conflist: per-plugin config with name, version, prevResult and runtimeConfig. */
async function runList(
  list: { name: string; cniVersion: string; plugins: PluginConf[] },
  command: "ADD" | "DEL",
  inv: { containerId: string; netns: string; runtimeConfig: Record<string, unknown> },
  prev?: unknown,
): Promise<unknown> {
  const plugins = command === "ADD" ? list.plugins : [...list.plugins].reverse();
  let prevResult = prev;
  for (const p of plugins) {
    const conf: Record<string, unknown> = { ...p, name: list.name, cniVersion: list.cniVersion };
    const caps = (p.capabilities ?? {}) as Record<string, boolean>;
    const rc = Object.fromEntries(Object.entries(inv.runtimeConfig).filter(([k]) => caps[k]));
    if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
    if (prevResult !== undefined) conf.prevResult = prevResult;
    const out = expectOk(
      await invoke(c, p.type, { command, containerId: inv.containerId, netns: inv.netns, conf }),
    );
    if (command === "ADD") prevResult = out;
  }
  return prevResult;
}

describe("conflist [calico, portmap, bandwidth]", () => {
  it("ADD chains through both plugins and DEL unwinds them", async () => {
    const ctr = await container();
    const calico = netConf(c);
    delete calico.name;
    delete calico.cniVersion;
    const list = {
      name: "chainnet",
      cniVersion: "1.0.0",
      plugins: [
        calico as PluginConf,
        { type: "portmap", snat: true, capabilities: { portMappings: true } },
        { type: "bandwidth", capabilities: { bandwidth: true } },
      ],
    };
    const inv = {
      containerId: "chain00001",
      netns: ctr.path,
      runtimeConfig: {
        portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }],
        bandwidth: {
          ingressRate: 1_000_000,
          ingressBurst: 100_000,
          egressRate: 2_000_000,
          egressBurst: 100_000,
        },
      },
    };
    const result = (await runList(list, "ADD", inv)) as {
      ips: { address: string }[];
      interfaces: { name: string }[];
    };
    const ip = result.ips[0]!.address.split("/")[0]!;
    const hostIf = `cali${inv.containerId.slice(0, 11)}`;
    expect(result.interfaces.map((i) => i.name)).toContain(hostIf);

    const nat = (await c.host.execOk(["iptables", "-t", "nat", "-S"])).stdout;
    expect(nat).toContain("CNI-HOSTPORT-DNAT");
    expect(nat).toContain(`--to-destination ${ip}:80`);
    const qdisc = (await c.host.execOk(["tc", "qdisc", "show", "dev", hostIf])).stdout;
    expect(qdisc).toContain("tbf");

    await runList(list, "DEL", inv, result);
    const natAfter = (await c.host.execOk(["iptables", "-t", "nat", "-S"])).stdout;
    expect(natAfter).not.toContain(`${ip}:80`);
    expect((await c.host.linkNames()).filter((l) => l.startsWith("cali") || l.startsWith("bwp"))).toEqual([]);
    expect(await ipsOfHandle(c, "chainnet.chain00001")).toEqual([]);
    expect(await getWep(c, `${c.node.replaceAll("-", "--")}-cni-chain00001-eth0`)).toBeUndefined();
  });
});

describe("delegation to a calico-ipam that is not this package's", () => {
  it("is executed from CNI_PATH, and its result and release work the same", async () => {
    const ctr = await container();
    const bin = join(c.dir, "other-bin");
    await mkdir(bin);
    await symlink(join(c.binDir, "calico"), join(bin, "calico"));
    // A wrapper, so the file on CNI_PATH is not our own bin/calico-ipam and must be exec'd.
    await writeFile(join(bin, "calico-ipam"), `#!/bin/sh\nexec ${join(c.binDir, "calico-ipam")} "$@"\n`, {
      mode: 0o755,
    });
    const inv = { containerId: "execipam01", netns: ctr.path, conf: netConf(c), env: { CNI_PATH: bin } };
    const result = expectOk(await invoke(c, "calico", { command: "ADD", ...inv }));
    const address = (result.ips as { address: string }[])[0]!.address;
    expect(await ipsOfHandle(c, "net1.execipam01")).toEqual([address.split("/")[0]]);
    expectOk(await invoke(c, "calico", { command: "DEL", ...inv }));
    expect(await ipsOfHandle(c, "net1.execipam01")).toEqual([]);
  });

  it("a failing IPAM plugin's error reaches the runtime with its code", async () => {
    const ctr = await container();
    const bin = join(c.dir, "failing-bin");
    await mkdir(bin);
    await symlink(join(c.binDir, "calico"), join(bin, "calico"));
    await writeFile(
      join(bin, "failipam"),
      `#!/bin/sh\necho '{"code": 11, "msg": "pool exhausted, try later"}'\nexit 1\n`,
      {
        mode: 0o755,
      },
    );
    const conf = netConf(c, { ipam: { type: "failipam" } });
    const add = await invoke(c, "calico", {
      command: "ADD",
      containerId: "failipam01",
      netns: ctr.path,
      conf,
      env: { CNI_PATH: bin },
    });
    expect(add.code).toBe(1);
    expect(add.json).toEqual({ code: 11, msg: "pool exhausted, try later" });
    expect(await ctr.linkNames()).toEqual(["lo"]);
  });
});
