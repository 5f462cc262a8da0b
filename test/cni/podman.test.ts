/**
 * End to end with a real runtime: podman 4 with its CNI backend runs a busybox container on a
 * Calico network. Podman runs inside a host namespace the test owns, so the host side of the
 * veth lands there. Setup follows the settings known to work on these machines (private
 * root/runroot, cgroupfs, lowered default ulimits, CNI backend with our bin and config dirs).
 */
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Resource } from "../../src/api/index.js";
import { exec } from "../support/netns.js";
import { type Cluster, ipsOfHandle, netConf, startCluster } from "./harness.js";

function missingTools(): string | undefined {
  for (const tool of ["podman", "runc"]) {
    try {
      execFileSync("which", [tool], { stdio: "ignore" });
    } catch {
      return `${tool} is not installed (apt-get install podman runc)`;
    }
  }
  try {
    execFileSync("test", ["-x", "/bin/busybox"]);
  } catch {
    return "/bin/busybox is missing (apt-get install busybox-static)";
  }
  return undefined;
}

const skipReason = missingTools();
if (skipReason) console.warn(`skipping podman end-to-end test: ${skipReason}`);

const NETWORK = "ctspodnet";
let c: Cluster;
let podmanDir: string;
let env: Record<string, string>;

async function podman(args: string[]) {
  const base = ["--root", join(podmanDir, "root"), "--runroot", join(podmanDir, "run")];
  return exec("nsenter", [`--net=${c.host.path}`, "podman", ...base, ...args], { env });
}

async function podmanOk(args: string[]) {
  const out = await podman(args);
  if (out.code !== 0)
    throw new Error(`podman ${args.join(" ")} failed (${out.code}):\n${out.stderr}\n${out.stdout}`);
  return out.stdout;
}

async function makeRootfs(dir: string): Promise<string> {
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "proc", "sys", "dev", "etc", "tmp"])
    await mkdir(join(rootfs, d), { recursive: true });
  await copyFile("/bin/busybox", join(rootfs, "bin/busybox"));
  for (const applet of ["sh", "ip", "sleep", "cat"]) await symlink("busybox", join(rootfs, "bin", applet));
  return rootfs;
}

describe.skipIf(skipReason !== undefined)("podman with the Calico CNI plugins", () => {
  let rootfs: string;

  beforeAll(async () => {
    c = await startCluster({ prefix: "cts-cni-pm" });
    podmanDir = join(c.dir, "podman");
    await mkdir(join(podmanDir, "net.d"), { recursive: true });
    rootfs = await makeRootfs(podmanDir);
    const calico = netConf(c, { log_level: "info" });
    delete calico.name;
    delete calico.cniVersion;
    await writeFile(
      join(podmanDir, "net.d", `10-${NETWORK}.conflist`),
      JSON.stringify({
        cniVersion: "0.4.0",
        name: NETWORK,
        plugins: [calico, { type: "portmap", capabilities: { portMappings: true } }],
      }),
    );
    await writeFile(
      join(podmanDir, "containers.conf"),
      [
        "[containers]",
        'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
        "[engine]",
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        "[network]",
        'network_backend = "cni"',
        `cni_plugin_dirs = ["${c.binDir}"]`,
        `network_config_dir = "${join(podmanDir, "net.d")}"`,
        "",
      ].join("\n"),
    );
    env = {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      CONTAINERS_CONF: join(podmanDir, "containers.conf"),
      HOME: podmanDir,
    };
  });

  afterAll(async () => {
    if (c) {
      await podman(["rm", "-f", "-a", "-t", "0"]);
      await c.stop();
    }
  });

  it("runs a container with a Calico address; removal releases everything", async () => {
    const name = `cts-pod-${process.pid}`;
    const cid = (
      await podmanOk([
        "run",
        "-d",
        "--name",
        name,
        "--network",
        NETWORK,
        "--rootfs",
        rootfs,
        "/bin/sleep",
        "300",
      ])
    ).trim();
    expect(cid).toMatch(/^[0-9a-f]{64}$/);

    const inside = await podmanOk(["exec", name, "/bin/ip", "-4", "addr", "show", "eth0"]);
    const m = /inet (10\.77\.\d+\.\d+)\/32/.exec(inside);
    expect(m, inside).not.toBeNull();
    const ip = m![1]!;
    const routes = await podmanOk(["exec", name, "/bin/ip", "route"]);
    expect(routes).toContain("default via 169.254.1.1 dev eth0");

    const weps = (await c.store.list("WorkloadEndpoint", { namespace: "default" })).items as Resource[];
    const wep = weps.find((w) => (w.spec as { containerID?: string }).containerID === cid);
    expect(wep?.metadata.name).toBe(`${c.node.replaceAll("-", "--")}-cni-${cid}-eth0`);
    expect(wep?.spec).toMatchObject({
      ipNetworks: [`${ip}/32`],
      interfaceName: `cali${cid.slice(0, 11)}`,
      profiles: [NETWORK],
    });
    expect(await ipsOfHandle(c, `${NETWORK}.${cid}`)).toEqual([ip]);
    expect(await c.host.linkNames()).toContain(`cali${cid.slice(0, 11)}`);

    await podmanOk(["rm", "-f", "-t", "0", name]);
    expect(await ipsOfHandle(c, `${NETWORK}.${cid}`)).toEqual([]);
    const after = (await c.store.list("WorkloadEndpoint", { namespace: "default" })).items;
    expect(after.filter((w) => (w.spec as { containerID?: string }).containerID === cid)).toEqual([]);
    expect((await c.host.linkNames()).filter((l) => l.startsWith("cali"))).toEqual([]);
  });
});
