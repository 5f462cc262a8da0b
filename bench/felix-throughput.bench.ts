/**
 * TCP throughput between two workloads on one host, through Felix's policy path versus the same
 * routed path with no rules at all (iperf3, median of 3 runs, in namespaces). The policy path has
 * the full ruleset: 1,000 policies of which 50 apply to the server ahead of the one that allows
 * the traffic, and a 10,000-member IP set in the matching rule.
 */
import { spawn } from "node:child_process";
import type { ToDataplane } from "../src/felix/calc/messages.js";
import { type PolicyBackend, PolicyDataplane } from "../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../src/felix/dataplane/rules/config.js";
import { gnp, policyBody, rule, tier, workload } from "../test/felix/dataplane/fixtures.js";
import { Lab, type LabWorkload } from "../test/felix/dataplane/lab.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const RUNS = 3;
const SECONDS = 3;

async function iperf(client: LabWorkload, server: LabWorkload): Promise<number> {
  const srv = spawn("nsenter", [`--net=${server.ns.path}`, "iperf3", "-s", "-1", "-B", server.ipv4], {
    stdio: "ignore",
  });
  await new Promise((r) => setTimeout(r, 300));
  try {
    const out = await client.ns.execOk(["iperf3", "-c", server.ipv4, "-t", String(SECONDS), "-J"]);
    const json = JSON.parse(out.stdout) as { end: { sum_received: { bits_per_second: number } } };
    return json.end.sum_received.bits_per_second / 1e9;
  } finally {
    srv.kill("SIGKILL");
  }
}

async function median(a: LabWorkload, b: LabWorkload): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await iperf(a, b));
  return percentiles(runs).median;
}

function policyMessages(a: LabWorkload, b: LabWorkload): ToDataplane[] {
  const msgs: ToDataplane[] = [
    {
      type: "ActiveProfileUpdate",
      id: { name: "kns.bench" },
      profile: { inboundRules: [rule()], outboundRules: [rule()] },
    },
  ];
  const members = Array.from(
    { length: 10_000 },
    (_, i) => `10.${200 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`,
  );
  msgs.push({ type: "IPSetUpdate", id: "s:clients", setType: "net", members: [...members, `${a.ipv4}/32`] });
  const ids = [];
  for (let p = 0; p < 1_000; p++) {
    const id = gnp(`p${p}`);
    const match =
      p === 999
        ? rule({ protocol: "tcp", srcIpSetIds: ["s:clients"], dstPorts: [{ first: 5201, last: 5201 }] })
        : rule({
            protocol: "udp",
            srcNets: [`172.16.${p % 256}.0/24`],
            dstPorts: [{ first: 1000 + p, last: 1000 + p }],
          });
    msgs.push({ type: "ActivePolicyUpdate", id, policy: policyBody([match]) });
    if (p >= 950) ids.push(id);
  }
  msgs.push(
    {
      type: "WorkloadEndpointUpdate",
      id: { orchestratorId: "k8s", workloadId: "bench/a", endpointId: "eth0" },
      endpoint: workload(a.iface, [`${a.ipv4}/32`], { profileIds: ["kns.bench"] }),
    },
    {
      type: "WorkloadEndpointUpdate",
      id: { orchestratorId: "k8s", workloadId: "bench/b", endpointId: "eth0" },
      endpoint: workload(b.iface, [`${b.ipv4}/32`], {
        profileIds: ["kns.bench"],
        tiers: [tier("default", ids)],
      }),
    },
  );
  return msgs;
}

async function measure(label: string, backend: PolicyBackend): Promise<Figure> {
  const lab = await Lab.create("cts-btp");
  try {
    const a = await lab.addWorkload("cts-btp", 1);
    const b = await lab.addWorkload("cts-btp", 2);
    for (const w of [a, b]) await lab.host.execOk(["ip", "route", "replace", `${w.ipv4}/32`, "dev", w.iface]);
    const plain = await median(a, b);
    const dp = new PolicyDataplane(
      (argv, input) => lab.host.exec(argv, { input }),
      defaultRenderConfig(),
      backend,
    );
    for (const m of policyMessages(a, b)) dp.onUpdate(m);
    await dp.apply();
    const policed = await median(a, b);
    return {
      name: `${label}: workload → workload TCP through 1,000 policies`,
      value: policed,
      unit: "Gbit/s",
      baseline: { name: "same path, no rules", value: plain },
    };
  } finally {
    await lab.close();
  }
}

const bench: BenchModule = {
  title: "Felix dataplane: throughput through the policy path (iperf3, in namespaces)",
  async run() {
    const which = await new Promise<number>((r) =>
      spawn("iperf3", ["--version"])
        .on("error", () => r(1))
        .on("exit", r),
    );
    if (which !== 0) {
      console.log("  skipped: iperf3 is not installed (scripts/install-deps.sh installs it)");
      return [];
    }
    return [
      await measure("nftables", { kind: "nftables" }),
      await measure("iptables", { kind: "iptables", flavour: "nft" }),
    ];
  },
};

export default bench;
