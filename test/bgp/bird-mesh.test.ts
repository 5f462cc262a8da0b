/**
 * Three nodes (namespaces on one bridge) each running BIRD 2 with the configuration calico-ts
 * renders: the mesh comes up, each kernel gets one route per remote block from BIRD and a
 * blackhole for its own, more-specific routes inside a node's own block stay local while a
 * borrowed address is advertised, and a reload for a new peer leaves the mesh sessions up.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Resource } from "../../src/api/index.js";
import { type BirdProcess, renderBirdConfig, startBird } from "../../src/bgp/index.js";
import { attachHost, createBridge } from "../../src/lab/fabric.js";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { createNetns, type Netns, removeAll } from "../support/netns.js";
import { node, peer, pool } from "./fixtures.js";

const N = 3;
let dir: string;
let fabric: Netns;
const hosts: Netns[] = [];
const birds: BirdProcess[] = [];
const nodes = Array.from({ length: N }, (_, i) => node(`node${i + 1}`, `172.31.0.${i + 1}/24`));
const pools = [pool("10.65.0.0/16")];
const block = (i: number) => `10.65.${i + 1}.0/26`;

async function render(i: number, peers: Resource[] = []): Promise<string> {
  const file = join(dir, `bird${i}.cfg`);
  await writeFile(
    file,
    renderBirdConfig({ nodeName: `node${i + 1}`, nodes, peers, configs: [], pools, blocks: [block(i)] }),
  );
  return file;
}

async function routes(i: number): Promise<string> {
  return (await (hosts[i] as Netns).execOk(["ip", "route", "show", "proto", "bird"])).stdout;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cts-mesh-"));
  fabric = await createNetns("cts-bgpf");
  await createBridge(fabric.name);
  for (let i = 0; i < N; i++) {
    const h = await createNetns("cts-bgpn");
    hosts.push(h);
    await attachHost(fabric.name, `n${i}`, { netns: h.name, address: `172.31.0.${i + 1}/24` });
    // A workload in node1's own block, and one borrowed by node2 from node1's block.
    if (i === 0) await h.execOk(["ip", "route", "add", "10.65.1.5/32", "dev", "lo", "proto", "boot"]);
    if (i === 1) await h.execOk(["ip", "route", "add", "10.65.1.9/32", "dev", "lo", "proto", "boot"]);
  }
  for (let i = 0; i < N; i++)
    birds.push(
      await startBird({
        configFile: await render(i),
        socketPath: join(dir, `bird${i}.ctl`),
        argvPrefix: ["nsenter", `--net=${(hosts[i] as Netns).path}`],
      }),
    );
}, 60_000);

afterAll(async () => {
  for (const b of birds) await b.stop();
  for (const h of hosts) await h.remove();
  await fabric?.remove();
  await removeAll();
  await rm(dir, { recursive: true, force: true });
});

describe("BIRD mesh from rendered configuration", () => {
  it("establishes every mesh session", async () => {
    await eventually(
      async () => {
        for (const b of birds) {
          const bgp = (await b.client.showProtocols()).filter((p) => p.proto === "BGP");
          expect(bgp).toHaveLength(N - 1);
          for (const p of bgp) expect(p.info).toBe("Established");
        }
      },
      20_000,
      200,
    );
  }, 30_000);

  it("programs one route per remote block via its node, and a blackhole for its own block", async () => {
    await eventually(
      async () => {
        for (let i = 0; i < N; i++) {
          const table = await routes(i);
          // Interface routes stay the kernel's own.
          expect(table).not.toContain("172.31.0.0/24");
          for (let j = 0; j < N; j++) {
            if (j === i) expect(table).toContain(`blackhole ${block(j)} `);
            else expect(table).toContain(`${block(j)} via 172.31.0.${j + 1} dev eth0 `);
          }
        }
      },
      10_000,
      200,
    );
  });

  it("keeps more-specifics of a node's own block local but advertises a borrowed address", async () => {
    await eventually(
      async () => expect(await routes(2)).toContain("10.65.1.9 via 172.31.0.2 dev eth0 "),
      10_000,
      200,
    );
    for (const i of [1, 2]) expect(await routes(i)).not.toContain("10.65.1.5");
  });

  it("is what calicoctl node status shows", async () => {
    const runDir = join(dir, "run0");
    await mkdir(runDir);
    await symlink(join(dir, "bird0.ctl"), join(runDir, "bird.ctl"));
    const out = await run(
      process.execPath,
      [join(import.meta.dirname, "../../bin/calicoctl"), "node", "status"],
      {
        env: { ...process.env, CALICO_RUN_DIR: runDir },
      },
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toContain("Calico process is running.\n\nIPv4 BGP status\n");
    expect(out.stdout).toMatch(
      /\| 172\.31\.0\.2 +\| node-to-node mesh \| up +\| \d\d:\d\d:\d\d \| Established \|/,
    );
    expect(out.stdout).toContain("IPv6 BGP status\nNo IPv6 peers found.\n");
  });

  it("reloads for a new peer without resetting the sessions that did not change", async () => {
    const before = (await (birds[0] as BirdProcess).client.showProtocols()).filter((p) =>
      p.name.startsWith("Mesh_"),
    );
    await new Promise((r) => setTimeout(r, 1_100));
    await render(0, [peer("tor", { peerIP: "172.31.0.200", asNumber: 65001 })]);
    await (birds[0] as BirdProcess).client.configure();
    const after = await (birds[0] as BirdProcess).client.showProtocols();
    expect(after.map((p) => p.name)).toContain("Global_172_31_0_200");
    // BIRD prints `since` by converting its monotonic clock, which can move it by a millisecond;
    // a reset session would show the reload's time, over a second later.
    const ms = (t: string | undefined) => {
      const [h, m, sec] = (t ?? "").split(":").map(Number);
      return ((h ?? 0) * 3600 + (m ?? 0) * 60 + (sec ?? 0)) * 1000;
    };
    for (const p of before) {
      const now = after.find((a) => a.name === p.name);
      expect(Math.abs(ms(now?.since) - ms(p.since))).toBeLessThan(50);
      expect(now?.info).toBe("Established");
    }
  });
});
