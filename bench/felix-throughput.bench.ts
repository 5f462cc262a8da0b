/**
 * TCP throughput and 64-byte UDP packet rate between two workloads on one host, through Felix's
 * policy path versus the same routed path with no rules at all and with connection tracking only
 * (iperf3, median of 5 interleaved runs, in namespaces). The policy path has the full ruleset:
 * 1,000 policies of which 50 apply to the server ahead of the one that allows the traffic, a
 * 10,000-member IP set in the matching rule, and 200 more endpoints with the server's policies.
 */
import { spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import type { ToDataplane } from "../src/felix/calc/messages.js";
import { type PolicyBackend, PolicyDataplane } from "../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../src/felix/dataplane/rules/config.js";
import { gnp, policyBody, rule, tier, workload } from "../test/felix/dataplane/fixtures.js";
import { Lab, type LabWorkload } from "../test/felix/dataplane/lab.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const RUNS = 5;
const SECONDS = 2;
const PINNING = cpus().length >= 2 ? ["-A", "0,1"] : [];

type Load = "tcp" | "udp64";

/**
 * One iperf3 run: TCP in Gbit/s, or 64-byte UDP datagrams at full speed in thousands of packets
 * per second received. UDP needs its own allow rule: iperf3's data flows over UDP to the same port
 * as its TCP control connection, and a policy that admits only the TCP port makes `iperf3 -u`
 * fail once the control connection is up (that was why it failed before).
 */
async function iperf(client: LabWorkload, server: LabWorkload, load: Load): Promise<number> {
  const srv = spawn("nsenter", [`--net=${server.ns.path}`, "iperf3", "-s", "-1", "-B", server.ipv4], {
    stdio: "ignore",
  });
  await new Promise((r) => setTimeout(r, 300));
  try {
    // Client on one CPU and server on the other (iperf3 -A): left to the scheduler, the 64-byte UDP
    // rate of the same path with no rules ranged 104–211 kpps over five runs; pinned, 162–182.
    const args = ["iperf3", "-c", server.ipv4, "-t", String(SECONDS), "-J", ...PINNING];
    if (load === "udp64") args.push("-u", "-b", "0", "-l", "64");
    const out = await client.ns.execOk(args);
    const json = JSON.parse(out.stdout) as {
      end: {
        sum_received?: { bits_per_second: number; bytes: number; seconds: number };
        sum?: { packets: number; lost_packets: number; seconds: number };
      };
    };
    if (load === "tcp") return (json.end.sum_received?.bits_per_second ?? 0) / 1e9;
    const sum = json.end.sum;
    if (!sum || sum.seconds === 0) throw new Error(`iperf3 -u gave no summary: ${out.stdout.slice(0, 300)}`);
    return (sum.packets - sum.lost_packets) / sum.seconds / 1000;
  } finally {
    srv.kill("SIGKILL");
  }
}

type Path = "plain" | "tracked" | "policed" | "linear";

/**
 * The saved iptables ruleset with the workload dispatch tree replaced by one rule per interface,
 * as it was before the tree: what the tree saves a packet, measured in the same rounds.
 */
function linearDispatch(saved: string, ifaces: readonly string[]): string {
  const tree = /^(:|-A )cali-(from|to)-wl-dispatch/;
  const lines = saved.split("\n").filter((l) => !tree.test(l));
  const filter = lines.indexOf("*filter");
  const filterEnd = lines.findIndex((l, i) => l === "COMMIT" && i > filter);
  const rules: string[] = [];
  for (const i of ifaces) rules.push(`-A cali-from-wl-dispatch -i ${i} -g cali-fw-${i}`);
  rules.push("-A cali-from-wl-dispatch -j DROP");
  for (const i of ifaces) rules.push(`-A cali-to-wl-dispatch -o ${i} -g cali-tw-${i}`);
  rules.push("-A cali-to-wl-dispatch -j DROP");
  lines.splice(filterEnd, 0, ...rules);
  lines.splice(filter + 1, 0, ":cali-from-wl-dispatch - [0:0]", ":cali-to-wl-dispatch - [0:0]");
  return lines.join("\n");
}

/**
 * Puts one path in place in the host namespace: no rules at all, only the conntrack accept, or
 * Felix's ruleset (saved once after Felix programmed it, restored from that text). Emptying the
 * ruleset also lets conntrack unhook, so "no rules" really is the untracked path.
 */
async function setPath(
  lab: Lab,
  backend: PolicyBackend,
  saved: string,
  linear: string,
  path: Path,
): Promise<void> {
  await lab.host.execOk(["nft", "flush ruleset"]);
  if (backend.kind === "nftables") {
    if (path === "tracked")
      await lab.host.execOk(["nft", "-f", "-"], {
        input: [
          "add table ip ctonly",
          "add chain ip ctonly fwd_ { type filter hook forward priority 0; }",
          "add rule ip ctonly fwd_ ct state established,related accept",
          "",
        ].join("\n"),
      });
    if (path === "policed") await lab.host.execOk(["nft", "-f", "-"], { input: saved });
    return;
  }
  if (path === "tracked")
    await lab.host.execOk([
      "iptables-nft",
      "-I",
      "FORWARD",
      "-m",
      "conntrack",
      "--ctstate",
      "RELATED,ESTABLISHED",
      "-j",
      "ACCEPT",
    ]);
  if (path === "policed" || path === "linear")
    await lab.host.execOk(["iptables-nft-restore"], { input: path === "linear" ? linear : saved });
}

/** Workloads with no interface here, sharing the server's policies: they size dispatch and groups. */
const IDLE_ENDPOINTS = 200;

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
    const iperfPort = [{ first: 5201, last: 5201 }];
    const matches =
      p === 999
        ? (["tcp", "udp"] as const).map((protocol) =>
            rule({ protocol, srcIpSetIds: ["s:clients"], dstPorts: iperfPort }),
          )
        : [
            rule({
              protocol: "udp",
              srcNets: [`172.16.${p % 256}.0/24`],
              dstPorts: [{ first: 1000 + p, last: 1000 + p }],
            }),
          ];
    msgs.push({ type: "ActivePolicyUpdate", id, policy: policyBody(matches) });
    if (p >= 950) ids.push(id);
  }
  for (let i = 0; i < IDLE_ENDPOINTS; i++)
    msgs.push({
      type: "WorkloadEndpointUpdate",
      id: { orchestratorId: "k8s", workloadId: `idle/w${i}`, endpointId: "eth0" },
      endpoint: workload(`cali${i.toString(16).padStart(11, "0")}`, [`10.99.${i >> 8}.${i & 255}/32`], {
        profileIds: ["kns.bench"],
        tiers: [tier("default", ids)],
      }),
    });
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

/**
 * The saved nftables ruleset with a counter at the head of every rule, so each counter counts the
 * packets that reached its rule, matched or not: their sum over the packets forwarded is how many
 * rules a packet meets, a figure the host's load cannot blur.
 */
function withCounters(listing: string): string {
  let inChain = false;
  return listing
    .split("\n")
    .map((line) => {
      if (/^\tchain /.test(line)) inChain = true;
      else if (/^\t}/.test(line)) inChain = false;
      else if (inChain && /^\t\t\S/.test(line) && !/^\t\t(type|policy) /.test(line))
        return line.replace(/^\t\t/, "\t\tcounter ");
      return line;
    })
    .join("\n");
}

/**
 * The same for iptables, whose counters count matches only: a target-less rule before each rule
 * counts the packets that reach it.
 */
function withCountRules(saved: string): string {
  let filter = false;
  const out: string[] = [];
  for (const line of saved.split("\n")) {
    if (line.startsWith("*")) filter = line === "*filter";
    const m = filter ? /^-A (\S+) /.exec(line) : null;
    if (m && (m[1] === "FORWARD" || m[1]?.startsWith("cali-")))
      out.push(`-A ${m[1]} -m comment --comment count`);
    out.push(line);
  }
  return out.join("\n");
}

async function iptablesRulesPerPacket(
  lab: Lab,
  a: LabWorkload,
  b: LabWorkload,
  saved: string,
): Promise<number> {
  await lab.host.execOk(["nft", "flush ruleset"]);
  await lab.host.execOk(["iptables-nft-restore"], { input: withCountRules(saved) });
  await iperf(a, b, "udp64");
  const out = await lab.host.execOk(["iptables-nft-save", "-c", "-t", "filter"]);
  let met = 0;
  let forwarded = 0;
  for (const line of out.stdout.split("\n")) {
    const m = /^\[(\d+):\d+\] -A (\S+) -m comment --comment count$/.exec(line);
    if (!m) continue;
    const packets = Number(m[1]);
    met += packets;
    if (m[2] === "FORWARD") forwarded = Math.max(forwarded, packets);
  }
  return forwarded === 0 ? Number.NaN : met / forwarded;
}

interface NftRuleJson {
  rule?: { chain: string; expr: { counter?: { packets: number } }[] };
}

/** Rules met per forwarded packet during one 64-byte UDP run through the counted ruleset. */
async function rulesPerPacket(lab: Lab, a: LabWorkload, b: LabWorkload, saved: string): Promise<number> {
  await lab.host.execOk(["nft", "flush ruleset"]);
  await lab.host.execOk(["nft", "-f", "-"], { input: withCounters(saved) });
  await iperf(a, b, "udp64");
  const out = await lab.host.execOk(["nft", "-j", "list", "table", "ip", "calico"]);
  const items = (JSON.parse(out.stdout) as { nftables: NftRuleJson[] }).nftables;
  let met = 0;
  let forwarded = 0;
  for (const { rule } of items) {
    const packets = rule?.expr[0]?.counter?.packets ?? 0;
    met += packets;
    if (rule?.chain === "filter-FORWARD") forwarded = Math.max(forwarded, packets);
  }
  return forwarded === 0 ? Number.NaN : met / forwarded;
}

/**
 * The three paths are measured in turns, each round in another order, so a change in the host's
 * load falls on all three alike; each figure is the median of its runs.
 */
async function measure(label: string, backend: PolicyBackend): Promise<Figure[]> {
  const lab = await Lab.create("cts-btp");
  try {
    const a = await lab.addWorkload("cts-btp", 1);
    const b = await lab.addWorkload("cts-btp", 2);
    for (const w of [a, b]) await lab.host.execOk(["ip", "route", "replace", `${w.ipv4}/32`, "dev", w.iface]);
    const dp = new PolicyDataplane(
      (argv, input) => lab.host.exec(argv, { input }),
      defaultRenderConfig(),
      backend,
    );
    for (const m of policyMessages(a, b)) dp.onUpdate(m);
    await dp.apply();
    dp.close();
    const saved =
      backend.kind === "nftables"
        ? (await lab.host.execOk(["nft", "list", "table", "ip", "calico"])).stdout
        : (await lab.host.execOk(["iptables-nft-save"])).stdout;
    const runs: Record<Path, Record<Load, number[]>> = {
      plain: { tcp: [], udp64: [] },
      tracked: { tcp: [], udp64: [] },
      policed: { tcp: [], udp64: [] },
      linear: { tcp: [], udp64: [] },
    };
    const iptables = backend.kind === "iptables";
    const ifaces = policyMessages(a, b).flatMap((m) =>
      m.type === "WorkloadEndpointUpdate" ? [m.endpoint.name] : [],
    );
    const linear = iptables ? linearDispatch(saved, ifaces.sort()) : "";
    const order: Path[] = iptables
      ? ["plain", "tracked", "policed", "linear"]
      : ["plain", "tracked", "policed"];
    for (let r = 0; r < RUNS; r++)
      for (let k = 0; k < order.length; k++) {
        const path = order[(r + k) % order.length] as Path;
        await setPath(lab, backend, saved, linear, path);
        for (const load of ["tcp", "udp64"] as const) runs[path][load].push(await iperf(a, b, load));
      }
    const med = (path: Path, load: Load) => percentiles(runs[path][load]).median;
    const spread = (path: Path, load: Load) =>
      `${Math.min(...runs[path][load]).toPrecision(3)}–${Math.max(...runs[path][load]).toPrecision(3)}`;
    for (const load of ["tcp", "udp64"] as const)
      console.log(
        `  ${label} ${load} runs, min–max: no rules ${spread("plain", load)}, conntrack only ${spread("tracked", load)}, policy ${spread("policed", load)}${iptables ? `, policy with linear dispatch ${spread("linear", load)}` : ""}`,
      );
    const figure = (load: Load, base: "plain" | "tracked"): Figure => ({
      name: `${label}: ${load === "tcp" ? "TCP" : "64-byte UDP"} through 1,000 policies${base === "tracked" ? " vs conntrack" : ""}`,
      value: med("policed", load),
      unit: load === "tcp" ? "Gbit/s" : "kpps",
      baseline:
        base === "plain"
          ? { name: "same path, no rules", value: med("plain", load) }
          : { name: "only ct state established accept", value: med("tracked", load) },
      goal:
        base === "plain"
          ? load === "tcp"
            ? "≥ 95% of no rules"
            : "≥ 90% of no rules"
          : "rules' own share ≈ 100% of conntrack only",
    });
    const figures: Figure[] = [];
    figures.push(
      iptables
        ? {
            name: `${label}: rules a packet meets on the policy path (64-byte UDP run)`,
            value: await iptablesRulesPerPacket(lab, a, b, saved),
            unit: "rules/packet",
            baseline: {
              name: "same ruleset, linear dispatch",
              value: await iptablesRulesPerPacket(lab, a, b, linear),
            },
          }
        : {
            name: `${label}: rules a packet meets on the policy path (64-byte UDP run)`,
            value: await rulesPerPacket(lab, a, b, saved),
            unit: "rules/packet",
            baseline: { name: "conntrack only", value: 1 },
          },
    );
    figures.push(
      figure("tcp", "plain"),
      figure("tcp", "tracked"),
      figure("udp64", "plain"),
      figure("udp64", "tracked"),
    );
    if (iptables)
      for (const load of ["tcp", "udp64"] as const)
        figures.push({
          name: `${label}: ${load === "tcp" ? "TCP" : "64-byte UDP"}, dispatch tree vs one rule per endpoint`,
          value: med("policed", load),
          unit: load === "tcp" ? "Gbit/s" : "kpps",
          baseline: { name: "same ruleset, linear dispatch over 202 interfaces", value: med("linear", load) },
        });
    return figures;
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
    console.log(`  load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} CPUs`);
    return [
      ...(await measure("nftables", { kind: "nftables" })),
      ...(await measure("iptables", { kind: "iptables", flavour: "nft" })),
    ];
  },
};

export default bench;
