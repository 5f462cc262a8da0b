/** Typha's pure parts: framing, KV serialisation, the snapshot cache, config and the connection target. */
import { describe, expect, it } from "vitest";
import { SnapshotCache } from "../../src/typha/cache.js";
import { maxConnLimit, parseTyphaParams, rawTyphaConfig } from "../../src/typha/config.js";
import { typhaClientSettings, typhaParamsFromEnv } from "../../src/typha/index.js";
import {
  deserializeUpdate,
  FrameDecoder,
  frame,
  frameText,
  kvsText,
  type SerializedUpdate,
  serializeUpdate,
} from "../../src/typha/proto.js";

const pool = (rv: string, cidr = "10.0.0.0/16") => ({
  kind: "IPPool",
  apiVersion: "projectcalico.org/v3",
  metadata: { name: "p", resourceVersion: rv },
  spec: { cidr },
});

describe("frames", () => {
  it("splits a stream cut at every byte boundary back into its messages", () => {
    const bytes = Buffer.concat([
      frame({ type: "ACK" }),
      frame({ type: "Pong", pingTimestamp: 1, pongTimestamp: 2 }),
      frameText(
        kvsText([
          serializeUpdate({ source: "IPPool", key: "/k", type: "new", value: pool("7"), revision: "7" }).text,
        ]),
      ),
    ]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = new FrameDecoder(1 << 20);
      const msgs = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(msgs.map((m) => (m as { type: string }).type)).toEqual(["ACK", "Pong", "KVs"]);
    }
  });

  it("compresses big frames only after DecoderRestart", () => {
    const text = kvsText(
      Array.from(
        { length: 200 },
        (_, i) =>
          serializeUpdate({
            source: "IPPool",
            key: `/k${i}`,
            type: "new",
            value: pool(String(i)),
            revision: String(i),
          }).text,
      ),
    );
    const packed = frameText(text, true);
    expect(packed.length).toBeLessThan(Buffer.byteLength(text) / 3);
    expect(() => new FrameDecoder(1 << 20).push(packed)).toThrow(/compressed frame before DecoderRestart/);
    const d = new FrameDecoder(1 << 20);
    d.allowCompression();
    expect((d.push(packed)[0] as { kvs: unknown[] }).kvs).toHaveLength(200);
    // A tiny message is not worth compressing.
    expect(frameText('{"type":"ACK"}', true)[4]).toBe(0);
  });

  it("refuses oversized frames before buffering them, and names TLS when it sees TLS", () => {
    const big = Buffer.alloc(8);
    big.writeUInt32BE(5 << 20, 0);
    expect(() => new FrameDecoder(1 << 20).push(big)).toThrow(/exceeds the limit/);
    const tlsHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
    expect(() => new FrameDecoder(1 << 20).push(tlsHello)).toThrow(/speaking TLS/);
  });

  it("moves resourceVersion out of the value and back", () => {
    const { text } = serializeUpdate({
      source: "IPPool",
      key: "/k",
      type: "updated",
      value: pool("42"),
      revision: "42",
    });
    const wire = JSON.parse(text) as SerializedUpdate;
    expect(wire.rv).toBe("42");
    expect((wire.v as { metadata: object }).metadata).toEqual({ name: "p" });
    expect(wire.t).toBe(2);
    expect(deserializeUpdate(wire)).toEqual({
      source: "IPPool",
      key: "/k",
      type: "updated",
      value: pool("42"),
      revision: "42",
    });
    const del = JSON.parse(
      serializeUpdate({ source: "IPPool", key: "/k", type: "deleted", value: null, revision: "43" }).text,
    );
    expect(deserializeUpdate(del)).toEqual({
      source: "IPPool",
      key: "/k",
      type: "deleted",
      value: null,
      revision: "43",
    });
  });
});

describe("snapshot cache", () => {
  it("skips no-op updates, batches breadcrumbs, and snapshots in key order", () => {
    const c = new SnapshotCache("felix", { maxBatchSize: 2 });
    const start = c.head;
    c.onUpdates([
      { source: "IPPool", key: "/b", type: "new", value: pool("1"), revision: "1" },
      { source: "IPPool", key: "/a", type: "new", value: pool("2"), revision: "2" },
      { source: "IPPool", key: "/c", type: "new", value: pool("3"), revision: "3" },
    ]);
    expect(c.head.seq - start.seq).toBe(2);
    expect(start.next?.deltas).toHaveLength(2);
    // Same value, new revision: dropped. Deleting an unknown key: dropped.
    c.onUpdates([{ source: "IPPool", key: "/a", type: "updated", value: pool("9"), revision: "9" }]);
    c.onUpdates([{ source: "IPPool", key: "/zz", type: "deleted", value: null, revision: "10" }]);
    expect(c.stats).toMatchObject({ updatesTotal: 5, updatesSkipped: 2 });
    c.onStatus("InSync");
    expect(c.head.status).toBe("InSync");
    const { snapshot } = c.snapshot(false);
    const d = new FrameDecoder(1 << 20);
    const kvs = (d.push(snapshot.frames[0] as Buffer)[0] as { kvs: SerializedUpdate[] }).kvs;
    expect(kvs.map((k) => k.k)).toEqual(["/a", "/b", "/c"]);
    expect(c.snapshot(false).reused).toBe(true);
    expect(c.countSource("IPPool")).toBe(3);
  });
});

describe("config", () => {
  it("reads TYPHA_* case-insensitively over the file, with Calico's defaults", () => {
    const { values, unknown } = rawTyphaConfig(
      { TYPHA_LOGSEVERITYSCREEN: "Warning", typha_HealthPort: "9999", TYPHA_BOGUS: "x", OTHER: "y" },
      "[global]\nHealthPort = 1234\nMaxConnectionsLowerLimit = 10\n# comment\n",
    );
    expect(unknown).toEqual(["TYPHA_BOGUS"]);
    const p = parseTyphaParams(values);
    expect(p).toMatchObject({
      logSeverityScreen: "Warning",
      healthPort: 9999,
      maxConnectionsLowerLimit: 10,
      maxConnectionsUpperLimit: 10_000,
      serverPingIntervalSecs: 10,
      serverPongTimeoutSecs: 60,
      serverMaxFallBehindSecs: 300,
      prometheusMetricsPort: 9093,
    });
    expect(p.tls).toBeUndefined();
  });

  it("names the parameter of a bad value, and wants TLS all or nothing", () => {
    expect(() => parseTyphaParams({ HealthPort: "70000" })).toThrow(/HealthPort/);
    expect(() => parseTyphaParams({ ServerPingIntervalSecs: "soon" })).toThrow(/ServerPingIntervalSecs/);
    expect(() => parseTyphaParams({ LogSeveritySys: "Loud" })).toThrow(/LogSeveritySys/);
    expect(() => parseTyphaParams({ ConnectionRebalancingMode: "kubernetes" })).toThrow(/Kubernetes API/);
    expect(() => parseTyphaParams({ CAFile: "/ca.pem" })).toThrow(
      /ServerKeyFile, ServerCertFile, CAFile and ClientCN or ClientURISAN/,
    );
    expect(
      parseTyphaParams({
        CAFile: "/a",
        ServerCertFile: "/b",
        ServerKeyFile: "/c",
        ClientURISAN: "spiffe://x",
      }).tls,
    ).toEqual({
      caFile: "/a",
      serverCertFile: "/b",
      serverKeyFile: "/c",
      clientCN: "",
      clientURISAN: "spiffe://x",
    });
  });

  it("computes the connection target as Calico does", () => {
    const limits = { lower: 400, upper: 10_000 };
    expect(maxConnLimit(limits, 1, 5000, 4)).toBe(10_000);
    // 4 × (1 + 1000×120/2/100) = 4 × 601
    expect(maxConnLimit(limits, 3, 1000, 4)).toBe(2404);
    expect(maxConnLimit(limits, 3, 10, 2)).toBe(400);
    expect(maxConnLimit({ lower: 1, upper: 10_000 }, 3, 10, 2)).toBe(2 * (1 + 6));
    expect(maxConnLimit({ lower: 1, upper: 100 }, 2, 1000, 2)).toBe(100);
  });

  it("reads client settings: a list of addresses, timeouts, confd's env prefixes", () => {
    expect(typhaClientSettings({})).toBeUndefined();
    expect(typhaClientSettings({ TyphaAddr: "10.0.0.1:5473, 10.0.0.2", TyphaReadTimeout: "5" })).toEqual({
      addresses: ["10.0.0.1:5473", "10.0.0.2"],
      readTimeoutMs: 5000,
      writeTimeoutMs: 10_000,
    });
    expect(() => typhaClientSettings({ TyphaAddr: "10.0.0.1:99999" })).toThrow(/TyphaAddr/);
    expect(() => typhaClientSettings({ TyphaAddr: "a:1", TyphaCN: "typha" })).toThrow(
      /TyphaCAFile, TyphaCertFile, TyphaKeyFile/,
    );
    expect(
      typhaParamsFromEnv({
        FELIX_TYPHAADDR: "a:1",
        CONFD_TYPHAADDR: "b:2",
        CALICO_TYPHACN: "t",
        FELIX_TYPHAURISAN: "none",
      }),
    ).toEqual({ TyphaAddr: "b:2", TyphaCN: "t" });
  });
});
