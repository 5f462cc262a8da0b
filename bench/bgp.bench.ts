/**
 * BIRD configuration for a node with 100 BGP peers: render + write + `birdc configure` when one
 * peer changes, median and p99, against a `configure` of an unchanged file (BIRD's own floor).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Resource } from "../src/api/index.js";
import { renderBirdConfig, startBird } from "../src/bgp/index.js";
import { createNetns } from "../test/support/netns.js";
import { type BenchModule, percentiles } from "./lib.js";

const API = "projectcalico.org/v3";
const PEERS = 100;
const ROUNDS = 30;

function inputs(generation: number) {
  const nodes = [
    {
      apiVersion: API,
      kind: "Node",
      metadata: { name: "n1" },
      spec: { bgp: { ipv4Address: "172.28.0.1/16" } },
    },
  ];
  const peers = Array.from({ length: PEERS }, (_, i) => ({
    apiVersion: API,
    kind: "BGPPeer",
    metadata: { name: `p${i}` },
    spec: { peerIP: `172.28.${1 + (i >> 8)}.${i & 255}`, asNumber: i === 0 ? 65000 + generation : 65001 },
  }));
  const pools = [
    { apiVersion: API, kind: "IPPool", metadata: { name: "p" }, spec: { cidr: "10.65.0.0/16" } },
  ];
  return {
    nodeName: "n1",
    nodes: nodes as unknown as Resource[],
    peers: peers as unknown as Resource[],
    configs: [],
    pools: pools as unknown as Resource[],
    blocks: ["10.65.1.0/26"],
  };
}

const bench: BenchModule = {
  title: "BGP: BIRD configuration render + reload with 100 peers (real BIRD 2, in a namespace)",
  async run() {
    const dir = await mkdtemp(join(tmpdir(), "cts-bbgp-"));
    const ns = await createNetns("cts-bbgp");
    try {
      await ns.execOk(["ip", "link", "set", "lo", "up"]);
      await ns.execOk(["ip", "addr", "add", "172.28.0.1/16", "dev", "lo"]);
      const file = join(dir, "bird.cfg");
      await writeFile(file, renderBirdConfig(inputs(0)));
      const bird = await startBird({
        configFile: file,
        socketPath: join(dir, "bird.ctl"),
        argvPrefix: ["nsenter", `--net=${ns.path}`],
      });
      try {
        const changed: number[] = [];
        const unchanged: number[] = [];
        for (let g = 1; g <= ROUNDS; g++) {
          const t0 = performance.now();
          await writeFile(file, renderBirdConfig(inputs(g)));
          await bird.client.configure();
          changed.push(performance.now() - t0);
          const t1 = performance.now();
          await bird.client.configure();
          unchanged.push(performance.now() - t1);
        }
        const protocols = (await bird.client.showProtocols()).filter((p) => p.proto === "BGP");
        if (protocols.length !== PEERS)
          throw new Error(`expected ${PEERS} BGP protocols, BIRD has ${protocols.length}`);
        const c = percentiles(changed);
        const base = { name: "configure of an unchanged file", value: percentiles(unchanged).median };
        return [
          {
            name: "render + write + configure, one of 100 peers changed, median",
            value: c.median,
            unit: "ms",
            baseline: base,
          },
          {
            name: "render + write + configure, one of 100 peers changed, p99",
            value: c.p99,
            unit: "ms",
            baseline: base,
          },
        ];
      } finally {
        await bird.stop();
      }
    } finally {
      await ns.remove();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
