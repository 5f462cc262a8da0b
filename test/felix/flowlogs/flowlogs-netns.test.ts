/**
 * The flow log collector against the real kernel, in namespaces: Felix's nftables ruleset with
 * flow logs on, NFLOG read through tcpdump, counts from conntrack. A denied flow is named by the
 * denying policy and rule with every packet counted; 20,000 new flows sent at 10,000 a second
 * all arrive as records, none lost, each with its one packet; iptables mode names rules alike.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlowLogCollector } from "../../../src/felix/flowlogs/index.js";
import { run } from "../../../src/lib/exec.js";
import { createFlowLab, type FlowLab, UDP_FLOWS } from "./harness.js";

let lab: FlowLab | undefined;
let collector: FlowLogCollector;
let missing = "";

beforeAll(async () => {
  for (const tool of ["tcpdump", "conntrack"])
    if ((await run("sh", ["-c", `command -v ${tool}`])).code !== 0) missing = tool;
  if (missing) return;
  lab = await createFlowLab("cts-fl");
  await lab.setFlowLogs(true);
  collector = await lab.startCollector();
}, 120_000);

afterAll(async () => {
  await lab?.close();
}, 60_000);

/** Waits until the collector has read every NFLOG packet queued so far (a loaded host lags). */
async function settled(): Promise<void> {
  let last = -1;
  for (let i = 0; i < 60 && collector.packetsRead !== last; i++) {
    last = collector.packetsRead;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

describe("flow logs from the kernel", () => {
  it("names the denying policy and rule and counts every denied packet", async (ctx) => {
    if (!lab) return ctx.skip(`${missing} is not installed`);
    const { a, b } = lab;
    const send = `const s=require("dgram").createSocket("udp4");s.bind(42001,()=>{for(let i=0;i<5;i++)s.send("denied",9,"${b.ipv4}");setTimeout(()=>process.exit(0),300)})`;
    await a.ns.execOk([process.execPath, "-e", send]);
    await settled();
    const mine = (await collector.flush()).filter((r) => r.source_port === 42001);
    const dst = mine.filter((r) => r.reporter === "dst");
    expect(dst.map((r) => r.action)).toEqual(["deny"]);
    expect(dst[0]).toMatchObject({
      source_name: "a",
      dest_name: "b",
      dest_labels: { role: "server" },
      dest_port: 9,
      proto: "udp",
      packets_in: 5,
      bytes_in: 5 * (6 + 28),
      policies: { all_policies: ["0|default|gnp/deny-discard|deny|0"] },
    });
    expect(mine.find((r) => r.reporter === "src")).toMatchObject({
      action: "allow",
      packets_out: 5,
      policies: { all_policies: ["0|__PROFILE__|__PROFILE__.kns.bench|allow|0"] },
    });
  }, 60_000);

  it("loses no flow at 10,000 new flows a second", async (ctx) => {
    if (!lab) return ctx.skip(`${missing} is not installed`);
    const { a, b } = lab;
    const flows = 20_000;
    const first = 20_000;
    const out = await a.ns.execOk([
      process.execPath,
      "-e",
      UDP_FLOWS,
      b.ipv4,
      String(first),
      String(flows),
      "10000",
    ]);
    expect(Number(out.stdout.trim())).toBe(flows);
    await settled();
    const records = await collector.flush();
    const inRange = records.filter((r) => r.dest_port >= first && r.dest_port < first + flows);
    for (const reporter of ["src", "dst"] as const) {
      const mine = inRange.filter((r) => r.reporter === reporter);
      expect(new Set(mine.map((r) => r.dest_port)).size).toBe(flows);
      expect(mine.every((r) => r.action === "allow")).toBe(true);
      const packets = mine.reduce((n, r) => n + (reporter === "src" ? r.packets_out : r.packets_in), 0);
      expect(packets).toBe(flows);
    }
    expect(inRange.find((r) => r.reporter === "dst")?.policies.all_policies).toEqual([
      "0|default|gnp/allow-a|allow|0",
    ]);
  }, 120_000);

  it("names the denying rule the same way in iptables mode", async (ctx) => {
    if (!lab) return ctx.skip(`${missing} is not installed`);
    const { a, b } = lab;
    // Only one mode may police at a time: take the nftables table away first.
    for (const family of ["ip", "ip6"]) await lab.lab.host.exec(["nft", "delete", "table", family, "calico"]);
    await lab.setFlowLogs(true, { kind: "iptables", flavour: "nft" });
    const send = `const s=require("dgram").createSocket("udp4");s.bind(42002,()=>{for(let i=0;i<3;i++)s.send("denied",9,"${b.ipv4}");setTimeout(()=>process.exit(0),300)})`;
    await a.ns.execOk([process.execPath, "-e", send]);
    await settled();
    const mine = (await collector.flush()).filter((r) => r.source_port === 42002);
    expect(mine.find((r) => r.reporter === "dst")).toMatchObject({
      action: "deny",
      packets_in: 3,
      policies: { all_policies: ["0|default|gnp/deny-discard|deny|0"] },
    });
    expect(mine.find((r) => r.reporter === "src")).toMatchObject({ action: "allow", packets_out: 3 });
  }, 60_000);
});
