/**
 * confd's reload of BIRD when BIRD refuses or does not answer: it asks again until BIRD has taken
 * the file, so a block claimed while BIRD was busy is still exported. The control socket here is a
 * stand-in speaking BIRD's reply format, which can be told to refuse; the datastore is in memory.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startConfd } from "../../src/bgp/index.js";
import { CalicoResourceStore, MemoryKV } from "../../src/datastore/index.js";
import { eventually } from "../support/datastore.js";

/** Answers `configure` with a runtime error while `refuse` is true, else as BIRD 2 does. */
function fakeBird(path: string): { server: Server; configures: () => number; refuse: boolean } {
  const state = { refuse: true, count: 0 };
  const server = createServer((sock) => {
    sock.setEncoding("utf8");
    sock.write("0001 BIRD 2.0.12 ready.\n");
    sock.on("data", (line: string) => {
      if (!line.startsWith("configure")) return;
      state.count++;
      sock.write(
        state.refuse
          ? "8002 Reconfiguration rejected, try again later\n"
          : "0002-Reading configuration from bird.cfg\n0003 Reconfigured\n",
      );
    });
  });
  server.listen(path);
  return {
    server,
    configures: () => state.count,
    get refuse() {
      return state.refuse;
    },
    set refuse(v: boolean) {
      state.refuse = v;
    },
  };
}

const API = "projectcalico.org/v3";

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe("confd reloads BIRD", () => {
  it("retries a refused reload until BIRD takes the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cts-confd-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const bird = fakeBird(join(dir, "bird.ctl"));
    cleanup.push(() => new Promise((r) => bird.server.close(r)));
    const kv = new MemoryKV();
    const store = new CalicoResourceStore(kv);
    await store.create({
      apiVersion: API,
      kind: "IPPool",
      metadata: { name: "pool" },
      spec: { cidr: "10.65.0.0/16" },
    });
    await store.create({
      apiVersion: API,
      kind: "Node",
      metadata: { name: "node1" },
      spec: { bgp: { ipv4Address: "172.31.9.1/24" } },
    });
    const confd = startConfd({
      nodeName: "node1",
      kv,
      configFile: join(dir, "bird.cfg"),
      birdSocket: join(dir, "bird.ctl"),
      reloadRetryMs: 20,
    });
    cleanup.push(() => confd.stop());
    await confd.firstRender;
    await eventually(() => expect(bird.configures()).toBeGreaterThanOrEqual(3), 5_000, 10);
    expect(confd.reloads).toBe(0);

    bird.refuse = false;
    await eventually(() => expect(confd.reloads).toBe(1), 5_000, 10);
    // Taken: no more asking until the file changes again.
    const asked = bird.configures();
    await new Promise((r) => setTimeout(r, 200));
    expect(bird.configures()).toBe(asked);

    // A block claimed while BIRD refuses reaches it once BIRD accepts again.
    bird.refuse = true;
    await kv.put("/calico/ipam/v2/host/node1/ipv4/block/10.65.3.0-26", '{"state":"confirmed"}');
    await eventually(() => expect(confd.lastConfig()).toContain("10.65.3.0/26"), 5_000, 10);
    await eventually(() => expect(bird.configures()).toBeGreaterThan(asked + 1), 5_000, 10);
    expect(confd.reloads).toBe(1);
    bird.refuse = false;
    await eventually(() => expect(confd.reloads).toBe(2), 5_000, 10);
  });
});
