/**
 * `calico-lab up --route-reflectors N`, driven through the command line: four nodes, node1 the
 * reflector. The datastore holds what a Calico user would write (mesh off, a BGPPeer to the
 * labelled nodes, the reflector's cluster ID); every other node's BIRD has one session, to the
 * reflector, which has one per client; and pods on different clients reach each other over
 * routes the reflector passed on. Bad counts are refused before anything is made.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { LabCli } from "./cli.js";

let cli: LabCli;

async function birdProtocols(node: string): Promise<string> {
  return (await run("birdc", ["-s", join(cli.dir, node, "run", "bird.ctl"), "show", "protocols"])).stdout;
}

function bgpSessions(protocols: string): string[] {
  return protocols
    .split("\n")
    .filter((l) => /\sBGP\s/.test(l))
    .map((l) => l.trim());
}

beforeAll(async () => {
  cli = await LabCli.create("rr");
  await cli.ok("up", "--nodes", "4", "--route-reflectors", "1");
  await cli.ok("namespace", "create", "dev");
  for (const node of ["node1", "node2", "node3", "node4"])
    await cli.ok("pod", "create", `dev/p-${node}`, "--node", node, "--serve", "tcp:80");
}, 180_000);

afterAll(() => cli?.down());

describe("calico-lab up --route-reflectors", () => {
  it("refuses a count the lab cannot have, before making anything", async () => {
    const other = await LabCli.create("rrbad");
    try {
      const tooMany = await other.run("up", "--nodes", "2", "--route-reflectors", "3");
      expect(tooMany.code).not.toBe(0);
      expect(tooMany.stderr).toMatch(/--route-reflectors must be between 0 and the number of nodes \(2\)/);
      const vxlan = await other.run("up", "--nodes", "2", "--route-reflectors", "1", "--encap", "vxlan");
      expect(vxlan.code).not.toBe(0);
      expect(vxlan.stderr).toMatch(/--route-reflectors needs BGP/);
      expect(existsSync(join(other.dir, "state.json"))).toBe(false);
    } finally {
      await other.down();
    }
  }, 60_000);

  it("writes Calico's route-reflector resources to the datastore", async () => {
    const config = await cli.calicoctl("get", "bgpconfiguration", "default", "-o", "yaml");
    expect(config).toMatch(/nodeToNodeMeshEnabled: false/);
    const peer = await cli.calicoctl("get", "bgppeer", "peer-with-route-reflectors", "-o", "yaml");
    expect(peer).toMatch(/nodeSelector: all\(\)/);
    expect(peer).toMatch(/peerSelector: route-reflector == 'true'/);
    const nodes = parse(await cli.calicoctl("get", "nodes", "-o", "yaml")) as {
      items: {
        metadata: { name: string; labels?: Record<string, string> };
        spec: { bgp: Record<string, string> };
      }[];
    };
    const byName = new Map(nodes.items.map((n) => [n.metadata.name, n]));
    expect(byName.get("node1")?.metadata.labels?.["route-reflector"]).toBe("true");
    expect(byName.get("node1")?.spec.bgp.routeReflectorClusterID).toBe("244.0.0.1");
    // calico-node's start-up kept the reflector settings and added the address.
    expect(byName.get("node1")?.spec.bgp.ipv4Address).toMatch(/^172\.30\.0\.1\//);
    for (const client of ["node2", "node3", "node4"]) {
      expect(byName.get(client)?.metadata.labels?.["route-reflector"]).toBeUndefined();
      expect(byName.get(client)?.spec.bgp.routeReflectorClusterID).toBeUndefined();
    }
    expect(await cli.ok("status")).toMatch(/route reflectors: node1 \(node-to-node mesh off\)/);
  }, 90_000);

  it("gives each client one session, to the reflector, and the reflector one per client", async () => {
    await eventually(
      async () => {
        for (const node of ["node2", "node3", "node4"]) {
          const sessions = bgpSessions(await birdProtocols(node));
          expect(sessions).toHaveLength(1);
          expect(sessions[0]).toMatch(/^Node_172_30_0_1 .*Established/);
        }
        const rr = bgpSessions(await birdProtocols("node1"));
        expect(rr.filter((s) => /^Node_172_30_0_[234] .*Established/.test(s))).toHaveLength(3);
        expect(rr.some((s) => s.startsWith("Mesh_"))).toBe(false);
      },
      30_000,
      500,
    );
    const rrConfig = readFileSync(join(cli.dir, "node1", "confd", "bird.cfg"), "utf8");
    expect(rrConfig.match(/rr client;\s+rr cluster id 244\.0\.0\.1;/g)).toHaveLength(3);
  }, 60_000);

  it("routes pods on different clients through what the reflector passed on", async () => {
    const ip = (ref: string) => cli.state().pods[ref]!.ip;
    await eventually(
      async () => {
        // node2 learned node3's pod route from node1, with node3 as the next hop.
        const routes = (await cli.inNetns(cli.nodeNetns("node2"), ["ip", "route"])).stdout;
        expect(routes).toMatch(/via 172\.30\.0\.3 .*proto bird/);
        const m = await cli.matrix();
        expect(Object.values(m)).toHaveLength(12);
        expect(Object.entries(m).filter(([, ok]) => !ok)).toEqual([]);
      },
      30_000,
      500,
    );
    expect(ip("dev/p-node3")).toMatch(/^10\.244\./);
  }, 60_000);
});
