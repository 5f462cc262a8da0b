/**
 * The flow log collector's pure parts: the NFLOG pcap stream reader, conntrack's line format,
 * aggregation into per-interval records (deny counted per logged packet, allow counted by
 * conntrack), the filters, the rotating file and the streaming `/flows` endpoint.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  FlowAggregator,
  type FlowLog,
  FlowLogFile,
  matchesFlow,
  type NflogPacket,
  NflogPcapReader,
  parseConntrackLine,
  parseFlowFilter,
  serveFlows,
} from "../../../src/felix/flowlogs/index.js";

function tlv(type: number, value: Buffer): Buffer {
  const len = 4 + value.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

function udp4(src: string, dst: string, sport: number, dport: number, total: number): Buffer {
  const p = Buffer.alloc(28);
  p[0] = 0x45;
  p.writeUInt16BE(total, 2);
  p[9] = 17;
  Buffer.from(src.split(".").map(Number)).copy(p, 12);
  Buffer.from(dst.split(".").map(Number)).copy(p, 16);
  p.writeUInt16BE(sport, 20);
  p.writeUInt16BE(dport, 22);
  return p;
}

function pcap(records: Array<{ group: number; prefix: string; payload: Buffer }>): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(239, 20);
  const parts = [head];
  for (const r of records) {
    const nfhdr = Buffer.from([2, 0, 0, 0]);
    nfhdr.writeUInt16BE(r.group, 2);
    const body = Buffer.concat([
      nfhdr,
      tlv(10, Buffer.from(`${r.prefix}\0`)),
      tlv(1, Buffer.alloc(4)),
      tlv(9, r.payload),
    ]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000, 0);
    rec.writeUInt32LE(body.length, 8);
    rec.writeUInt32LE(body.length, 12);
    parts.push(rec, body);
  }
  return Buffer.concat(parts);
}

describe("NFLOG pcap reader", () => {
  it("decodes group, prefix and the IP head, across any chunk boundaries", () => {
    const stream = pcap([
      {
        group: 1,
        prefix: "DPI0|np/prod/deny-db",
        payload: udp4("10.244.1.2", "10.244.2.3", 40000, 5432, 60),
      },
      { group: 2, prefix: "APE1|gnp/allow-dns", payload: udp4("10.244.1.2", "10.96.0.10", 40001, 53, 70) },
    ]);
    const whole = new NflogPcapReader().push(stream);
    expect(whole).toEqual([
      expect.objectContaining({
        group: 1,
        prefix: "DPI0|np/prod/deny-db",
        src: "10.244.1.2",
        dst: "10.244.2.3",
        proto: 17,
        sport: 40000,
        dport: 5432,
        bytes: 60,
        time: 1_700_000_000_000,
      }),
      expect.objectContaining({ group: 2, prefix: "APE1|gnp/allow-dns", dport: 53, bytes: 70 }),
    ]);
    const reader = new NflogPcapReader();
    const pieces: NflogPacket[] = [];
    for (let i = 0; i < stream.length; i += 7) pieces.push(...reader.push(stream.subarray(i, i + 7)));
    expect(pieces).toEqual(whole);
  });

  it("refuses a capture that is not NFLOG", () => {
    const bad = pcap([]);
    bad.writeUInt32LE(1, 20);
    expect(() => new NflogPcapReader().push(bad)).toThrow(/link type 1 is not NFLOG/);
  });
});

describe("conntrack lines", () => {
  it("reads the original tuple and both directions' counters, from lists and DESTROY events", () => {
    const list =
      "ipv4     2 tcp      6 431999 ESTABLISHED src=10.244.1.2 dst=10.244.2.3 sport=40000 dport=80 packets=6 bytes=400 src=10.244.2.3 dst=10.244.1.2 sport=80 dport=40000 packets=4 bytes=300 [ASSURED] mark=0 use=1";
    expect(parseConntrackLine(list)).toEqual({
      orig: { proto: 6, src: "10.244.1.2", dst: "10.244.2.3", sport: 40000, dport: 80 },
      packets: 6,
      bytes: 400,
      replyPackets: 4,
      replyBytes: 300,
      destroyed: false,
    });
    const ev =
      "[DESTROY] ipv4     2 udp      17 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 packets=3 bytes=90 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 packets=0 bytes=0";
    expect(parseConntrackLine(ev)).toMatchObject({ destroyed: true, packets: 3 });
    expect(
      parseConntrackLine("conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown."),
    ).toBeUndefined();
  });
});

const lookup = (ip: string) =>
  ip === "10.244.1.2"
    ? { name: "client", namespace: "prod", labels: { app: "client" }, node: "node1" }
    : ip === "10.244.2.3"
      ? { name: "db", namespace: "prod", labels: { app: "db" }, node: "node2" }
      : undefined;

function pkt(over: Partial<NflogPacket>): NflogPacket {
  return {
    group: 1,
    prefix: "",
    time: 0,
    family: 4,
    src: "10.244.1.2",
    dst: "10.244.2.3",
    proto: 17,
    sport: 40000,
    dport: 5432,
    bytes: 60,
    ...over,
  };
}

describe("flow aggregation", () => {
  it("counts each denied packet and names the denying policy and rule", () => {
    const agg = new FlowAggregator({ host: "node2", lookup, tierOf: () => "security" }, 10_000);
    for (let i = 0; i < 5; i++) agg.onPacket(pkt({ prefix: "DPI2|np/prod/deny-db" }));
    const [rec, ...rest] = agg.flush(20_000);
    expect(rest).toEqual([]);
    expect(rec).toMatchObject({
      start_time: 10,
      end_time: 20,
      action: "deny",
      reporter: "dst",
      source_name: "client",
      source_labels: { app: "client" },
      dest_name: "db",
      dest_namespace: "prod",
      proto: "udp",
      policies: { all_policies: ["0|security|np/prod/deny-db|deny|2"] },
      packets_in: 5,
      bytes_in: 300,
      packets_out: 0,
      num_flows_started: 1,
    });
    // Quiet intervals emit nothing; the flow is then forgotten.
    expect(agg.flush(30_000)).toEqual([]);
    expect(agg.flush(40_000)).toEqual([]);
    expect(agg.size).toBe(0);
  });

  it("takes an allowed flow's counts from conntrack, as deltas per interval, until it ends", () => {
    const agg = new FlowAggregator({ host: "node1", lookup }, 0);
    agg.onPacket(pkt({ group: 2, prefix: "APE0|np/prod/allow-db", proto: 6, dport: 80 }));
    const orig = { proto: 6, src: "10.244.1.2", dst: "10.244.2.3", sport: 40000, dport: 80 };
    const ct = (packets: number, replyPackets: number, destroyed = false) => ({
      orig,
      packets,
      bytes: packets * 100,
      replyPackets,
      replyBytes: replyPackets * 50,
      destroyed,
    });
    agg.onConntrackList([ct(3, 2)]);
    expect(agg.flush(1000)[0]).toMatchObject({
      action: "allow",
      reporter: "src",
      policies: { all_policies: ["0|default|np/prod/allow-db|allow|0"] },
      packets_out: 3,
      bytes_out: 300,
      packets_in: 2,
      num_flows_started: 1,
      num_flows_completed: 0,
    });
    agg.onConntrackList([ct(10, 8)]);
    agg.onConntrackEvent(ct(12, 9, true));
    expect(agg.flush(2000)[0]).toMatchObject({
      packets_out: 9,
      packets_in: 7,
      num_flows_started: 0,
      num_flows_completed: 1,
    });
    expect(agg.size).toBe(0);
  });

  it("counts an allowed flow's logged packets until conntrack lists it, without counting twice", () => {
    const agg = new FlowAggregator({ host: "node1", lookup }, 0);
    agg.onPacket(pkt({ group: 2, prefix: "APE0|np/prod/allow-db" }));
    expect(agg.flush(1000)[0]).toMatchObject({ packets_out: 1 });
    agg.onConntrackList([
      {
        orig: { proto: 17, src: "10.244.1.2", dst: "10.244.2.3", sport: 40000, dport: 5432 },
        packets: 4,
        bytes: 240,
        replyPackets: 0,
        replyBytes: 0,
        destroyed: false,
      },
    ]);
    expect(agg.flush(2000)[0]).toMatchObject({ packets_out: 3, bytes_out: 180 });
  });

  it("lists every policy a flow met, in order (pass, then the deciding one)", () => {
    const agg = new FlowAggregator({ host: "n", lookup }, 0);
    agg.onPacket(pkt({ prefix: "PPI0|gnp/platform" }));
    agg.onPacket(pkt({ prefix: "DPI|default" }));
    expect(agg.flush(1000)[0]?.policies.all_policies).toEqual([
      "0|default|gnp/platform|pass|0",
      "1|default|default.end-of-tier|deny|-1",
    ]);
  });
});

const sample = (over: Partial<FlowLog>): FlowLog => ({
  start_time: 0,
  end_time: 1,
  source_ip: "10.0.0.1",
  source_name: "a",
  source_namespace: "prod",
  source_labels: {},
  source_port: 1,
  source_type: "wep",
  dest_ip: "10.0.0.2",
  dest_name: "b",
  dest_namespace: "dev",
  dest_labels: {},
  dest_port: 80,
  dest_type: "wep",
  proto: "tcp",
  action: "allow",
  reporter: "src",
  policies: { all_policies: ["0|default|np/prod/web|allow|0"] },
  packets_in: 0,
  packets_out: 1,
  bytes_in: 0,
  bytes_out: 60,
  num_flows: 1,
  num_flows_started: 1,
  num_flows_completed: 0,
  host: "n",
  ...over,
});

describe("filters", () => {
  it("match action, either end's namespace and a policy substring; reject unknown filters", () => {
    const f = parseFlowFilter(new URLSearchParams("action=deny&namespace=dev&policy=np/prod"));
    expect(
      matchesFlow(sample({ action: "deny", policies: { all_policies: ["0|default|np/prod/x|deny|0"] } }), f),
    ).toBe(true);
    expect(matchesFlow(sample({}), f)).toBe(false);
    expect(() => parseFlowFilter(new URLSearchParams("colour=red"))).toThrow(/unknown filter 'colour'/);
    expect(() => parseFlowFilter(new URLSearchParams("action=maybe"))).toThrow(/allow or deny/);
  });
});

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("flow log file", () => {
  it("appends JSON lines and rotates, keeping FlowLogsFileMaxFiles files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cts-flowfile-"));
    dirs.push(dir);
    const file = new FlowLogFile({ directory: dir, maxFiles: 3, maxFileSizeMB: 1 });
    const rec = sample({ source_labels: { pad: "x".repeat(1000) } });
    for (let i = 0; i < 5; i++)
      file.write(Array.from({ length: 400 }, (_, n) => ({ ...rec, source_port: i * 1000 + n })));
    expect((await readdir(dir)).sort()).toEqual(["flows.log", "flows.log.1", "flows.log.2"]);
    const lines = (await readFile(join(dir, "flows.log"), "utf8")).trim().split("\n");
    expect(JSON.parse(lines.at(-1) ?? "{}").source_port).toBe(4399);
  });
});

describe("/flows endpoint", () => {
  it("serves recent records filtered, streams new ones to followers, and rejects bad filters", async () => {
    const server = await serveFlows("127.0.0.1", 0);
    try {
      server.publish([sample({}), sample({ action: "deny" })]);
      const get = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          request({ host: "127.0.0.1", port: server.port, path }, (res) => {
            let body = "";
            res.on("data", (d) => {
              body += d;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          })
            .on("error", reject)
            .end();
        });
      const denied = await get("/flows?action=deny");
      expect(denied.status).toBe(200);
      expect(
        denied.body
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).action),
      ).toEqual(["deny"]);
      expect((await get("/flows?bogus=1")).status).toBe(400);
      const streamed = await new Promise<string>((resolve, reject) => {
        request({ host: "127.0.0.1", port: server.port, path: "/flows?follow=true&action=deny" }, (res) => {
          let body = "";
          res.on("data", (d) => {
            body += d;
            if (body.split("\n").length > 2) {
              resolve(body);
              res.destroy();
            }
          });
          setTimeout(() => server.publish([sample({ action: "deny", dest_name: "late" }), sample({})]), 50);
        })
          .on("error", reject)
          .end();
      });
      expect(
        streamed
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).dest_name),
      ).toEqual(["b", "late"]);
    } finally {
      await server.close();
    }
  });
});

describe("flow log parameters", () => {
  it("defaults as Calico's, and refuses bad values naming the parameter", async () => {
    const { parseFelixParams } = await import("../../../src/felix/daemon/index.js");
    expect(parseFelixParams({}).flowLogs).toMatchObject({
      enabled: false,
      fileDirectory: "/var/log/calico/flowlogs",
      fileMaxFiles: 5,
      fileMaxFileSizeMB: 100,
      flushInterval: 300,
      httpPort: 9098,
    });
    expect(
      parseFelixParams({ FlowLogsFileEnabled: "true", FlowLogsFlushInterval: "15s" }).flowLogs,
    ).toMatchObject({
      enabled: true,
      flushInterval: 15,
    });
    expect(() => parseFelixParams({ FlowLogsFileMaxFiles: "0" })).toThrow(/FlowLogsFileMaxFiles: '0'/);
    expect(() => parseFelixParams({ FlowLogsFileEnabled: "sometimes" })).toThrow(/FlowLogsFileEnabled/);
    expect(() => parseFelixParams({ FlowLogsHTTPPort: "70000" })).toThrow(/FlowLogsHTTPPort/);
  });
});
