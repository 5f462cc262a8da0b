/**
 * The lab end to end, driven through its command line as a user would: four nodes in a BGP
 * mesh, pods in two namespaces on different nodes, a Kubernetes NetworkPolicy enforced across
 * nodes, the mesh replaced by a route reflector, a node's calico-node killed and restarted
 * without loss elsewhere, and `down` leaving nothing behind.
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentSocketPath } from "../../src/cni/index.js";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { LabCli } from "./cli.js";

const ROOT = join(import.meta.dirname, "../..");
let cli: LabCli;
let PREFIX: string;
let dir: string;
let env: NodeJS.ProcessEnv;
/** Each node's CNI agent socket, named after the node's namespace (gone once the lab is down). */
let agentSockets: string[];
const lab = (...args: string[]) => cli.run(...args);
const labOk = (...args: string[]) => cli.ok(...args);
const calicoctl = (...args: string[]) => cli.calicoctl(...args);
const matrix = () => cli.matrix();
const apply = (yaml: string) => cli.apply(yaml);

async function birdProtocols(node: string): Promise<string> {
  return (await run("birdc", ["-s", join(dir, node, "run", "bird.ctl"), "show", "protocols"])).stdout;
}

beforeAll(async () => {
  cli = await LabCli.create("ctl");
  ({ prefix: PREFIX, dir, env } = cli);
  await labOk("up", "--nodes", "4");
  agentSockets = [1, 2, 3, 4].map((i) => agentSocketPath(`/run/netns/${PREFIX}-node${i}`));
  await labOk("namespace", "create", "dev", "--labels", "env=dev");
  await labOk("namespace", "create", "prod", "--labels", "env=prod");
  await labOk(
    "pod",
    "create",
    "dev/web",
    "--node",
    "node1",
    "--labels",
    "app=web",
    "--serve",
    "tcp:80:http,udp:53",
  );
  await labOk(
    "pod",
    "create",
    "dev/client",
    "--node",
    "node2",
    "--labels",
    "app=client",
    "--serve",
    "tcp:80",
  );
  await labOk(
    "pod",
    "create",
    "prod/client",
    "--node",
    "node3",
    "--labels",
    "app=client",
    "--serve",
    "tcp:80",
  );
  await labOk("pod", "create", "dev/web2", "--node", "node4", "--labels", "app=web", "--serve", "tcp:80");
}, 120_000);

afterAll(() => cli?.down());

describe("calico-lab", () => {
  it("meshes the nodes: every pod reaches every other, one BIRD route per remote block", async () => {
    const m = await matrix();
    expect(Object.values(m)).toHaveLength(12);
    expect(Object.entries(m).filter(([, ok]) => !ok)).toEqual([]);
    const status = await labOk("status");
    expect(status.match(/ ready$/gm)).toHaveLength(4);
    for (let i = 1; i <= 4; i++) {
      const routes = (await run("ip", ["-n", `${PREFIX}-node${i}`, "route", "show", "proto", "bird"])).stdout;
      const remote = routes
        .split("\n")
        .filter((l) => /^10\.244\.\S+\/26 via 172\.30\.0\.\d+ dev eth0/.test(l));
      expect(remote).toHaveLength(3);
      expect(new Set(remote.map((l) => l.split(" ")[2])).size).toBe(3);
      expect(routes).toMatch(/^blackhole 10\.244\.\S+\/26/m);
    }
    expect(await birdProtocols("node1")).toMatch(/Mesh_172_30_0_4 .*Established/);
  }, 60_000);

  it("wires pods through each node's CNI agent in calico-node", async () => {
    for (const [i, socket] of agentSockets.entries()) {
      expect(existsSync(socket)).toBe(true);
      // Each node got one pod above, and its calico-node logged serving that ADD.
      const log = readFileSync(join(dir, `node${i + 1}`, "calico-node.log"), "utf8");
      expect(log.match(/served CNI ADD for container \w+: exit status 0/g)).toHaveLength(1);
    }
  });

  it("probes report reachability through their exit codes, and refuse SCTP", async () => {
    expect((await lab("probe", "dev/client", "dev/web", "--port", "53", "--protocol", "udp")).code).toBe(0);
    expect((await lab("probe", "dev/client", "dev/web", "--port", "81")).code).toBe(1);
    const sctp = await lab("probe", "dev/client", "dev/web", "--port", "80", "--protocol", "sctp");
    expect(sctp.code).toBe(2);
    expect(sctp.stderr).toContain("no SCTP");
  }, 30_000);

  it("enforces a Kubernetes NetworkPolicy with namespace and pod selectors across nodes", async () => {
    await calicoctl("apply", "-f", join(ROOT, "examples/lab/web-policy.yaml"));
    await eventually(async () => expect((await matrix())["prod/client>dev/web"]).toBe(false), 10_000, 300);
    const m = await matrix();
    expect(m["dev/client>dev/web"]).toBe(true);
    expect(m["prod/client>dev/web"]).toBe(false);
    expect(m["dev/web2>dev/web"]).toBe(false);
    expect(m["prod/client>dev/web2"]).toBe(false);
    expect(m["dev/client>dev/web2"]).toBe(true);
    // Pods the policy does not select are untouched.
    expect(m["prod/client>dev/client"]).toBe(true);
    // Relabelling a namespace changes what the namespaceSelector admits.
    await labOk("namespace", "label", "prod", "env=dev");
    await eventually(async () => expect((await matrix())["prod/client>dev/web"]).toBe(true), 10_000, 300);
    await labOk("namespace", "label", "prod", "env=prod");
    await eventually(async () => expect((await matrix())["prod/client>dev/web"]).toBe(false), 10_000, 300);
  }, 90_000);

  it("replaces the mesh by a route reflector and keeps full reachability", async () => {
    await calicoctl("label", "node", "node4", "route-reflector=true");
    await calicoctl(
      "patch",
      "node",
      "node4",
      "-p",
      '{"spec":{"bgp":{"routeReflectorClusterID":"224.0.0.1"}}}',
    );
    await apply(`apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: peer-with-rr}
spec:
  nodeSelector: all()
  peerSelector: route-reflector == 'true'
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  nodeToNodeMeshEnabled: false
`);
    await eventually(
      async () => {
        const p1 = await birdProtocols("node1");
        expect(p1).not.toContain("Mesh_");
        expect(p1).toMatch(/Node_172_30_0_4 .*Established/);
        const rr = await birdProtocols("node4");
        expect(rr.match(/Node_172_30_0_\d .*Established/g)).toHaveLength(3);
      },
      20_000,
      300,
    );
    await eventually(
      async () => {
        const m = await matrix();
        expect(m["dev/client>dev/web"]).toBe(true);
        expect(m["dev/web>prod/client"]).toBe(true);
        expect(m["prod/client>dev/client"]).toBe(true);
        expect(m["dev/web2>prod/client"]).toBe(true);
      },
      15_000,
      500,
    );
  }, 60_000);

  it("restarts a node's calico-node without losing other nodes' traffic", async () => {
    const killed = await lab("probe", "dev/web", "prod/client", "--port", "80");
    expect(killed.code).toBe(0);
    const restart = run(
      process.execPath,
      [
        "-e",
        `import(${JSON.stringify(join(ROOT, "dist/lab/index.js"))}).then(async ({ Lab }) => { const lab = new Lab(); await lab.killNode("node2"); await new Promise((r) => setTimeout(r, 2000)); await lab.restartNode("node2", () => {}); })`,
      ],
      { env },
    );
    let restarted = false;
    void restart.then(() => {
      restarted = true;
    });
    let lost = 0;
    let probes = 0;
    // Probe across the whole outage and restart (each probe is a CLI start, slow on a busy host).
    while (!restarted || probes < 3) {
      probes++;
      if ((await lab("probe", "dev/web", "prod/client", "--port", "80")).code !== 0) lost++;
    }
    const r = await restart;
    expect(r.stderr).toBe("");
    expect(lost).toBe(0);
    await eventually(
      async () => expect((await lab("probe", "prod/client", "dev/client", "--port", "80")).code).toBe(0),
      15_000,
      300,
    );
    expect((await labOk("status")).match(/ ready$/gm)).toHaveLength(4);
  }, 60_000);

  it("removes every namespace, process and file on down, and down twice is fine", async () => {
    await labOk("down");
    await labOk("down");
    const left = (await run("ip", ["netns", "list"])).stdout
      .split("\n")
      .filter((l) => l.startsWith(`${PREFIX}-`));
    expect(left).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    for (const socket of agentSockets) expect(existsSync(socket)).toBe(false);
    expect((await run("pgrep", ["-f", dir])).stdout.trim()).toBe("");
  }, 60_000);
});
