/**
 * `calico-lab docker up` on two lab nodes: each node gets its own dockerd and calico-libnetwork;
 * containers of one Calico network on the two nodes reach each other over the routes BIRD
 * exchanges, and `calico-lab down` removes the daemons with everything else.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";

const ROOT = join(import.meta.dirname, "../..");
const PREFIX = `ctd${process.pid % 10000}`;
const missing = ["/usr/sbin/dockerd", "/usr/bin/docker", "/bin/busybox"].filter((p) => !existsSync(p));
if (missing.length > 0) console.log(`skipping lab Docker test: ${missing.join(", ")} not installed`);

let dir: string;
let env: NodeJS.ProcessEnv;
const sockets: Record<string, string> = {};

async function labOk(...args: string[]): Promise<string> {
  const out = await run(process.execPath, [join(ROOT, "bin/calico-lab"), ...args], { env });
  if (out.code !== 0) throw new Error(`calico-lab ${args.join(" ")} failed (${out.code}): ${out.stderr}`);
  return out.stdout;
}

async function docker(node: string, ...args: string[]): Promise<string> {
  const out = await run("/usr/bin/docker", ["-H", `unix://${sockets[node]}`, ...args]);
  if (out.code !== 0) throw new Error(`docker ${args.join(" ")} on ${node} failed: ${out.stderr}`);
  return out.stdout.trim();
}

beforeAll(async () => {
  if (missing.length > 0) return;
  dir = await mkdtemp(join(tmpdir(), "cts-labdk-"));
  env = { ...process.env, CALICO_LAB_DIR: dir, CALICO_LAB_PREFIX: PREFIX };
  await labOk("up", "--nodes", "2");
}, 180_000);

afterAll(async () => {
  if (missing.length > 0) return;
  await run(process.execPath, [join(ROOT, "bin/calico-lab"), "down"], { env });
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe.skipIf(missing.length > 0)("calico-lab docker", () => {
  it("runs Docker on two nodes whose containers in one network reach each other over BGP", async () => {
    for (const node of ["node1", "node2"]) {
      const out = await labOk("docker", "up", "--node", node);
      const socket = /docker -H unix:\/\/(\S+)/.exec(out)?.[1];
      expect(socket, out).toBeDefined();
      sockets[node] = socket as string;
      await docker(node, "network", "create", "--driver", "calico", "--ipam-driver", "calico-ipam", "net1");
    }
    await expect(labOk("docker", "up", "--node", "node1")).rejects.toThrow(/already running on node1/);
    await expect(labOk("docker", "up", "--node", "node9")).rejects.toThrow(/no node node9/);
    await docker("node1", "run", "-d", "--name", "c1", "--net", "net1", "busybox", "sleep", "3600");
    await docker("node2", "run", "-d", "--name", "c2", "--net", "net1", "busybox", "sleep", "3600");
    const ip = (node: string, c: string) =>
      docker(node, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", c);
    const ip1 = await ip("node1", "c1");
    const ip2 = await ip("node2", "c2");
    expect(ip1).toMatch(/^10\.244\./);
    expect(ip2).toMatch(/^10\.244\./);
    // node1 reaches c2's block through node2, learned by BIRD.
    await eventually(
      async () => {
        const routes = (await run("ip", ["-n", `${PREFIX}-node1`, "route", "show", "proto", "bird"])).stdout;
        expect(routes).toMatch(/via 172\.30\.0\.2/);
      },
      60_000,
      500,
    );
    await eventually(
      async () => {
        await docker("node1", "exec", "c1", "ping", "-c1", "-W1", ip2);
      },
      60_000,
      500,
    );
    await docker("node2", "exec", "c2", "ping", "-c1", "-W1", ip1);

    // Both daemons' net1 share the profile net1; it goes with the last of them.
    const profile = async () => {
      const endpoint = /ETCD_ENDPOINTS=(\S+)/.exec(await labOk("env"))?.[1] ?? "";
      return run(process.execPath, [join(ROOT, "bin/calicoctl"), "get", "profile", "net1", "-o", "yaml"], {
        env: { ...env, DATASTORE_TYPE: "etcdv3", ETCD_ENDPOINTS: endpoint },
      });
    };
    expect((await profile()).stdout).toMatch(/network-ids: [0-9a-f]{64},[0-9a-f]{64}/);
    await docker("node1", "rm", "-f", "c1");
    await docker("node1", "network", "rm", "net1");
    expect((await profile()).code).toBe(0);
    await docker("node2", "rm", "-f", "c2");
    await docker("node2", "network", "rm", "net1");
    expect((await profile()).code).not.toBe(0);
  }, 240_000);

  it("down removes the daemons, their namespaces' processes and the lab directory", async () => {
    const pids = ["node1", "node2"].flatMap((n) => {
      const s = JSON.parse(readFileSync(join(dir, n, "docker", "docker.json"), "utf8")) as {
        dockerdPid: number;
        pluginPid: number;
      };
      return [s.dockerdPid, s.pluginPid];
    });
    await labOk("down");
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect((await run("ip", ["netns", "list"])).stdout).not.toContain(`${PREFIX}-`);
    expect(existsSync(join(dir, "state.json"))).toBe(false);
  }, 120_000);
});
