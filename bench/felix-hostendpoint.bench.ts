/**
 * Host endpoints: (1) host-endpoint policy change → enforced, through the real calculation graph
 * and dataplane in a namespace, beside the workload-policy change measured in the same run and
 * namespace (100 local workloads, 500 workload policies, 50 policies selecting the host endpoint);
 * (2) TCP throughput through a gateway host whose uplink carries 1,000 applyOnForward policies
 * (999 that do not match, then the allow), against the same gateway with no rules (iperf3).
 */
import { spawn } from "node:child_process";
import { CalcGraph, type CalcUpdate } from "../src/felix/calc/index.js";
import type { ToDataplane } from "../src/felix/calc/messages.js";
import { type PolicyBackend, PolicyDataplane } from "../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../src/felix/dataplane/rules/config.js";
import { gnp, policyBody, rule, tier } from "../test/felix/dataplane/fixtures.js";
import { createNetns, type Netns } from "../test/support/netns.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const HOST = "bench-host";
const API = "projectcalico.org/v3";
const LOCAL = 100;
const WORKLOAD_POLICIES = 500;
const HOST_POLICIES = 50;
const CHANGES = 50;

const iface = (i: number) => `cali${i.toString(16).padStart(8, "0")}`;

function res(kind: string, plural: string, name: string, value: Record<string, unknown>): CalcUpdate {
  return {
    kind,
    key: `/calico/resources/v3/projectcalico.org/${plural}/${name}`,
    value: { apiVersion: API, kind, metadata: { name }, ...value },
  } as CalcUpdate;
}

function workloadEndpoint(i: number): CalcUpdate {
  const name = `${HOST}-k8s-pod${i}-eth0`;
  return {
    kind: "WorkloadEndpoint",
    key: `/calico/resources/v3/projectcalico.org/workloadendpoints/ns0/${name}`,
    value: {
      apiVersion: API,
      kind: "WorkloadEndpoint",
      metadata: { name, namespace: "ns0", labels: { app: `app${i % 50}` } },
      spec: {
        orchestrator: "k8s",
        node: HOST,
        pod: `pod${i}`,
        endpoint: "eth0",
        interfaceName: iface(i),
        ipNetworks: [`10.100.0.${i}/32`],
        profiles: ["kns.ns0"],
      },
    },
  } as CalcUpdate;
}

/** Policy `name` allowing TCP `port` to what `selector` picks. */
function gnpUpdate(name: string, order: number, selector: string, port: number): CalcUpdate {
  return res("GlobalNetworkPolicy", "globalnetworkpolicies", name, {
    spec: {
      tier: "default",
      order,
      selector,
      ingress: [{ action: "Allow", protocol: "TCP", destination: { ports: [port] } }],
      types: ["Ingress"],
    },
  });
}

function baseState(): CalcUpdate[] {
  const out: CalcUpdate[] = [
    res("Tier", "tiers", "default", { spec: { order: 1_000_000 } }),
    res("Profile", "profiles", "kns.ns0", {
      spec: { ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }] },
    }),
    {
      kind: "HostEndpoint",
      key: "/calico/resources/v3/projectcalico.org/hostendpoints/bench-host-eth0",
      value: {
        apiVersion: API,
        kind: "HostEndpoint",
        metadata: { name: "bench-host-eth0", labels: { role: "edge" } },
        spec: { node: HOST, interfaceName: "eth0" },
      },
    } as CalcUpdate,
  ];
  for (let i = 0; i < LOCAL; i++) out.push(workloadEndpoint(i));
  for (let p = 0; p < WORKLOAD_POLICIES; p++)
    out.push(gnpUpdate(`wl${p}`, p, `app == 'app${p % 50}'`, 1000 + p));
  for (let p = 0; p < HOST_POLICIES; p++) out.push(gnpUpdate(`host${p}`, p, "role == 'edge'", 3000 + p));
  return out;
}

async function changeLatency(label: string, backend: PolicyBackend): Promise<Figure[]> {
  const ns = await createNetns("cts-bhep");
  try {
    const lines: string[] = [];
    for (let i = 0; i < LOCAL; i++)
      lines.push(`link add name ${iface(i)} type veth peer name p${i}`, `link set ${iface(i)} up`);
    await ns.execOk(["ip", "-batch", "-"], { input: `${lines.join("\n")}\n` });
    const graph = new CalcGraph({ hostname: HOST });
    const dp = new PolicyDataplane((argv, input) => ns.exec(argv, { input }), defaultRenderConfig(), backend);
    graph.onUpdates(baseState());
    graph.onStatus("InSync");
    for (const m of graph.flush()) dp.onUpdate(m);
    await dp.apply();
    const listing = async () =>
      backend.kind === "nftables"
        ? (await ns.execOk(["nft", "list", "table", "ip", "calico"])).stdout
        : (await ns.execOk(["iptables-save"])).stdout;
    const run = async (what: "host" | "wl") => {
      const samples: number[] = [];
      for (let k = 0; k < CHANGES; k++) {
        const port = (what === "host" ? 40_000 : 50_000) + k;
        const update =
          what === "host"
            ? gnpUpdate(`host${k % HOST_POLICIES}`, k % HOST_POLICIES, "role == 'edge'", port)
            : gnpUpdate(`wl${k % 50}`, k % 50, `app == 'app${k % 50}'`, port);
        const start = performance.now();
        graph.onUpdate(update);
        for (const m of graph.flush()) dp.onUpdate(m);
        await dp.apply();
        samples.push(performance.now() - start);
        if (k % 10 === 0 && !new RegExp(`dports? ${port}\\b`).test(await listing()))
          throw new Error(`${label}: ${what} change ${k} (port ${port}) is not in the kernel`);
      }
      return percentiles(samples);
    };
    const wl = await run("wl");
    const host = await run("host");
    const base = (v: number) => ({ name: "workload policy change", value: v });
    return [
      {
        name: `${label}: host-endpoint policy change → enforced, median`,
        value: host.median,
        unit: "ms",
        baseline: base(wl.median),
      },
      {
        name: `${label}: host-endpoint policy change → enforced, p99`,
        value: host.p99,
        unit: "ms",
        baseline: base(wl.p99),
      },
    ];
  } finally {
    await ns.remove();
  }
}

/** A gateway namespace between two peers: A (10.99.0.2) behind hep0, B (10.98.0.2) behind hep1. */
async function gateway(): Promise<{ gw: Netns; a: Netns; b: Netns }> {
  const gw = await createNetns("cts-bgw");
  const ends: Netns[] = [];
  for (const [link, subnet] of [
    ["hep0", "10.99.0"],
    ["hep1", "10.98.0"],
  ] as const) {
    const ns = await createNetns("cts-bgw");
    await gw.execOk(["ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns.name]);
    await gw.execOk(["ip", "addr", "add", `${subnet}.1/24`, "dev", link]);
    await gw.execOk(["ip", "link", "set", link, "up"]);
    await ns.execOk(["ip", "addr", "add", `${subnet}.2/24`, "dev", "eth0"]);
    await ns.execOk(["ip", "link", "set", "eth0", "up"]);
    await ns.execOk(["ip", "route", "add", "default", "via", `${subnet}.1`]);
    ends.push(ns);
  }
  await gw.execOk(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  return { gw, a: ends[0] as Netns, b: ends[1] as Netns };
}

async function iperfMedian(client: Netns, server: Netns, addr: string): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const srv = spawn("nsenter", [`--net=${server.path}`, "iperf3", "-s", "-1", "-B", addr], {
      stdio: "ignore",
    });
    await new Promise((r) => setTimeout(r, 300));
    try {
      const out = await client.execOk(["iperf3", "-c", addr, "-t", "3", "-J"]);
      runs.push(
        (JSON.parse(out.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received
          .bits_per_second / 1e9,
      );
    } finally {
      srv.kill("SIGKILL");
    }
  }
  return percentiles(runs).median;
}

function forwardPolicies(): ToDataplane[] {
  const msgs: ToDataplane[] = [];
  const ids = [];
  for (let p = 0; p < 1_000; p++) {
    const id = gnp(`fwd${p}`);
    const match =
      p === 999
        ? rule({ protocol: "tcp", dstPorts: [{ first: 5201, last: 5201 }] })
        : rule({
            protocol: "udp",
            srcNets: [`172.16.${p % 256}.0/24`],
            dstPorts: [{ first: 1000 + p, last: 1000 + p }],
          });
    msgs.push({ type: "ActivePolicyUpdate", id, policy: { ...policyBody([match]), applyOnForward: true } });
    ids.push(id);
  }
  const endpoint = {
    name: "hep0",
    profileIds: [],
    tiers: [],
    untrackedTiers: [],
    preDnatTiers: [],
    forwardTiers: [tier("default", ids)],
    expectedIpv4Addrs: [],
    expectedIpv6Addrs: [],
  };
  msgs.push({ type: "HostEndpointUpdate", id: { endpointId: "gw-hep0" }, endpoint });
  return msgs;
}

async function throughput(label: string, backend: PolicyBackend): Promise<Figure> {
  const { gw, a, b } = await gateway();
  try {
    const plain = await iperfMedian(a, b, "10.98.0.2");
    const dp = new PolicyDataplane((argv, input) => gw.exec(argv, { input }), defaultRenderConfig(), backend);
    for (const m of forwardPolicies()) dp.onUpdate(m);
    await dp.apply();
    // Without policy a closed port is refused by B; through the forward policy it is dropped.
    const connect = `require("node:net").connect(5202, "10.98.0.2").on("error", (e) => { console.log(e.code); process.exit(0); }); setTimeout(() => { console.log("timeout"); process.exit(0); }, 700);`;
    const probe = (await a.execOk([process.execPath, "-e", connect])).stdout.trim();
    if (probe !== "timeout")
      throw new Error(`${label}: the forward policy does not police the gateway (${probe})`);
    const policed = await iperfMedian(a, b, "10.98.0.2");
    return {
      name: `${label}: TCP through a gateway, 1,000 forward policies`,
      value: policed,
      unit: "Gbit/s",
      baseline: { name: "same gateway, no rules", value: plain },
    };
  } finally {
    for (const ns of [a, b, gw]) await ns.remove();
  }
}

const bench: BenchModule = {
  title: "Felix dataplane: host endpoints (policy change → enforced; gateway throughput)",
  async run() {
    const figures = [
      ...(await changeLatency("nftables", { kind: "nftables" })),
      ...(await changeLatency("iptables", { kind: "iptables", flavour: "nft" })),
    ];
    const iperf = await new Promise<number>((r) =>
      spawn("iperf3", ["--version"])
        .on("error", () => r(1))
        .on("exit", r),
    );
    if (iperf !== 0) {
      console.log(
        "  gateway throughput skipped: iperf3 is not installed (scripts/install-deps.sh installs it)",
      );
      return figures;
    }
    figures.push(await throughput("nftables", { kind: "nftables" }));
    figures.push(await throughput("iptables", { kind: "iptables", flavour: "nft" }));
    return figures;
  },
};

export default bench;
