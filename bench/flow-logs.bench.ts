/**
 * What flow logs cost the dataplane: bulk TCP throughput (iperf3) and new UDP flows a second
 * between two workloads, with Felix's flow log NFLOG rules and the collector on versus off,
 * measured in the same run and interleaved (off, on, off, on, …) so machine load hits both alike.
 * Only a flow's first packet is logged; counts come from conntrack, so bulk traffic is untouched.
 */
import { spawn } from "node:child_process";
import type { LabWorkload } from "../test/felix/dataplane/lab.js";
import { createFlowLab, type FlowLab } from "../test/felix/flowlogs/harness.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const ROUNDS = 3;
const FLOWS = 40_000;

/** Sends one datagram to each of FLOWS ports as fast as Node can; prints the seconds it took. */
const BLAST = `
const s = require("node:dgram").createSocket("udp4");
const [host, first, count] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const payload = Buffer.alloc(16);
let done = 0;
s.bind(0, () => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++)
    s.send(payload, first + (i % 40000), host, () => {
      if (++done === count) { console.log(Number(process.hrtime.bigint() - start) / 1e9); process.exit(0); }
    });
});
`;

async function iperf(client: LabWorkload, server: LabWorkload): Promise<number> {
  const srv = spawn("nsenter", [`--net=${server.ns.path}`, "iperf3", "-s", "-1", "-B", server.ipv4], {
    stdio: "ignore",
  });
  await new Promise((r) => setTimeout(r, 300));
  try {
    const out = await client.ns.execOk(["iperf3", "-c", server.ipv4, "-t", "2", "-J"]);
    const json = JSON.parse(out.stdout) as { end: { sum_received: { bits_per_second: number } } };
    return json.end.sum_received.bits_per_second / 1e9;
  } finally {
    srv.kill("SIGKILL");
  }
}

/** New flows a second: conntrack entries created by one blast, over the blast's duration. */
async function newFlows(lab: FlowLab): Promise<number> {
  await lab.lab.host.exec(["conntrack", "-F"]);
  const out = await lab.a.ns.execOk([process.execPath, "-e", BLAST, lab.b.ipv4, "20000", String(FLOWS)]);
  const seconds = Number(out.stdout.trim());
  const count = Number((await lab.lab.host.execOk(["conntrack", "-C"])).stdout.trim());
  return count / seconds;
}

const bench: BenchModule = {
  title: "Flow logs: dataplane cost, on vs off (interleaved, in namespaces)",
  async run() {
    for (const tool of ["iperf3", "tcpdump", "conntrack"]) {
      const ok = await new Promise<boolean>((r) =>
        spawn("sh", ["-c", `command -v ${tool}`]).on("exit", (code) => r(code === 0)),
      );
      if (!ok) {
        console.log(`  skipped: ${tool} is not installed (scripts/install-deps.sh installs it)`);
        return [];
      }
    }
    const lab = await createFlowLab("cts-bfl");
    try {
      const collector = await lab.startCollector();
      const bulk = { on: [] as number[], off: [] as number[] };
      const flows = { on: [] as number[], off: [] as number[] };
      for (let round = 0; round < ROUNDS; round++)
        for (const mode of round % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
          await lab.setFlowLogs(mode === "on");
          bulk[mode].push(await iperf(lab.a, lab.b));
          flows[mode].push(await newFlows(lab));
          // Let the collector read and aggregate this round's flows outside the measurements.
          for (let last = -1; collector.packetsRead !== last; ) {
            last = collector.packetsRead;
            await new Promise((r) => setTimeout(r, 1_000));
          }
          await collector.flush();
        }
      // Where the cost lies: the NFLOG rules with nobody reading them (the kernel drops the
      // messages at once) against no rules, interleaved the same way.
      await collector.stop();
      const kernel = { on: [] as number[], off: [] as number[] };
      for (let round = 0; round < ROUNDS; round++)
        for (const mode of round % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
          await lab.setFlowLogs(mode === "on");
          kernel[mode].push(await newFlows(lab));
        }
      const load = (await lab.lab.host.execOk(["cat", "/proc/loadavg"])).stdout
        .split(" ")
        .slice(0, 3)
        .join(" ");
      console.log(
        `  load average ${load}; ${ROUNDS} interleaved rounds each; records written: ${lab.records.length}`,
      );
      const med = (xs: number[]) => percentiles(xs).median;
      const figures: Figure[] = [
        {
          name: "bulk TCP a → b, flow logs on (iperf3, median)",
          value: med(bulk.on),
          unit: "Gbit/s",
          baseline: { name: "flow logs off", value: med(bulk.off) },
          goal: "ratio ≥ 0.90",
        },
        {
          name: `new UDP flows/s a → b, flow logs on (${FLOWS.toLocaleString("en")} flows, median)`,
          value: med(flows.on),
          unit: "flows/s",
          baseline: { name: "flow logs off", value: med(flows.off) },
          goal: "ratio ≥ 0.90",
        },
        {
          name: "new UDP flows/s, NFLOG rules but no reader (kernel's share)",
          value: med(kernel.on),
          unit: "flows/s",
          baseline: { name: "no NFLOG rules", value: med(kernel.off) },
        },
      ];
      return figures;
    } finally {
      await lab.close();
    }
  },
};

export default bench;
