/**
 * Policy change → enforced in the kernel: a host namespace with 200 local workload interfaces,
 * 2,000 endpoints cluster-wide and 1,000 policies, run through the real calculation graph into
 * the real dataplane. One policy's port changes per iteration; the time runs from the datastore
 * update to the end of the kernel transaction. Baselines in the same run and namespace: a
 * one-rule transaction of the same tool (`nft -f`, `iptables-restore --noflush`).
 */
import { CalcGraph, type CalcUpdate } from "../src/felix/calc/index.js";
import { type PolicyBackend, PolicyDataplane } from "../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../src/felix/dataplane/rules/config.js";
import { createNetns, type Netns } from "../test/support/netns.js";
import { type BenchModule, type Figure, percentiles } from "./lib.js";

const LOCAL = 200;
const ENDPOINTS = 2_000;
const POLICIES = 1_000;
const NAMESPACES = 10;
const APPS = 100;
const ROLES = 10;
const CHANGES = 100;
const HOST = "bench-host";
const API = "projectcalico.org/v3";

const iface = (i: number) => `cali${i.toString(16).padStart(8, "0")}`;
const ip = (i: number) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

function endpoint(i: number): CalcUpdate {
  const ns = `ns${i % NAMESPACES}`;
  const node = i < LOCAL ? HOST : `node${i % 20}`;
  const name = `${node}-k8s-pod${i}-eth0`;
  return {
    kind: "WorkloadEndpoint",
    key: `/calico/resources/v3/projectcalico.org/workloadendpoints/${ns}/${name}`,
    value: {
      apiVersion: API,
      kind: "WorkloadEndpoint",
      metadata: { name, namespace: ns, labels: { app: `app${i % APPS}`, role: `r${i % ROLES}` } },
      spec: {
        orchestrator: "k8s",
        node,
        pod: `pod${i}`,
        endpoint: "eth0",
        interfaceName: iface(i),
        ipNetworks: [`${ip(i)}/32`],
        profiles: [`kns.${ns}`],
      },
    },
  };
}

function policy(p: number, port: number): CalcUpdate {
  const name = `pol${p}`;
  return {
    kind: "GlobalNetworkPolicy",
    key: `/calico/resources/v3/projectcalico.org/globalnetworkpolicies/${name}`,
    value: {
      apiVersion: API,
      kind: "GlobalNetworkPolicy",
      metadata: { name },
      spec: {
        tier: "default",
        order: p,
        selector: `app == 'app${p % APPS}'`,
        ingress: [
          {
            action: "Allow",
            protocol: "TCP",
            source: { selector: `role == 'r${p % ROLES}'` },
            destination: { ports: [port] },
          },
          { action: "Deny", protocol: "UDP", source: { nets: [`172.16.${p % 256}.0/24`] } },
        ],
        egress: [{ action: "Allow" }],
        types: ["Ingress", "Egress"],
      },
    },
  };
}

function baseState(): CalcUpdate[] {
  const out: CalcUpdate[] = [
    {
      kind: "Tier",
      key: "/calico/resources/v3/projectcalico.org/tiers/default",
      value: { apiVersion: API, kind: "Tier", metadata: { name: "default" }, spec: { order: 1_000_000 } },
    },
  ];
  for (let n = 0; n < NAMESPACES; n++)
    out.push({
      kind: "Profile",
      key: `/calico/resources/v3/projectcalico.org/profiles/kns.ns${n}`,
      value: {
        apiVersion: API,
        kind: "Profile",
        metadata: { name: `kns.ns${n}` },
        spec: { ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }] },
      },
    });
  for (let i = 0; i < ENDPOINTS; i++) out.push(endpoint(i));
  for (let p = 0; p < POLICIES; p++) out.push(policy(p, 1000 + p));
  return out;
}

async function createInterfaces(ns: Netns): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < LOCAL; i++) {
    lines.push(`link add name ${iface(i)} type veth peer name p${i.toString(16).padStart(8, "0")}`);
    lines.push(`link set ${iface(i)} up`);
  }
  await ns.execOk(["ip", "-batch", "-"], { input: `${lines.join("\n")}\n` });
}

async function oneRuleBaseline(ns: Netns, backend: PolicyBackend): Promise<number> {
  const samples: number[] = [];
  if (backend.kind === "nftables") {
    await ns.execOk(["nft", "add table ip scratch; add chain ip scratch c"]);
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      await ns.execOk(["nft", "-f", "-"], { input: `add rule ip scratch c tcp dport ${2000 + i} accept\n` });
      samples.push(performance.now() - t0);
    }
    await ns.execOk(["nft", "delete table ip scratch"]);
  } else {
    await ns.execOk(["iptables", "-N", "scratch"]);
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      await ns.execOk(["iptables-restore", "--noflush"], {
        input: `*filter\n-A scratch -p tcp --dport ${2000 + i} -j ACCEPT\nCOMMIT\n`,
      });
      samples.push(performance.now() - t0);
    }
    await ns.execOk(["iptables", "-F", "scratch"]);
    await ns.execOk(["iptables", "-X", "scratch"]);
  }
  return percentiles(samples).median;
}

async function measure(label: string, backend: PolicyBackend): Promise<Figure[]> {
  const ns = await createNetns("cts-bdp");
  try {
    await createInterfaces(ns);
    const graph = new CalcGraph({ hostname: HOST });
    const dp = new PolicyDataplane((argv, input) => ns.exec(argv, { input }), defaultRenderConfig(), backend);
    const t0 = performance.now();
    graph.onUpdates(baseState());
    graph.onStatus("InSync");
    for (const m of graph.flush()) dp.onUpdate(m);
    await dp.apply();
    const initial = performance.now() - t0;

    const samples: number[] = [];
    let verified = 0;
    for (let k = 0; k < CHANGES; k++) {
      const p = k % APPS; // policies 0..99 select apps that have local endpoints
      const port = 20_000 + k;
      const start = performance.now();
      graph.onUpdate(policy(p, port));
      for (const m of graph.flush()) dp.onUpdate(m);
      await dp.apply();
      samples.push(performance.now() - start);
      if (k % 25 === 0) {
        const listing =
          backend.kind === "nftables"
            ? (await ns.execOk(["nft", "list", "table", "ip", "calico"])).stdout
            : (await ns.execOk(["iptables-save", "-t", "filter"])).stdout;
        if (!new RegExp(`dports? ${port}\\b`).test(listing))
          throw new Error(`${label}: change ${k} (port ${port}) is not in the kernel`);
        verified++;
      }
    }
    if (verified === 0) throw new Error("no change verified");
    const baseline = await oneRuleBaseline(ns, backend);
    const { median, p99 } = percentiles(samples);
    const base = {
      name: `one-rule ${backend.kind === "nftables" ? "nft -f" : "iptables-restore"}`,
      value: baseline,
    };
    return [
      {
        name: `${label}: initial programming (${LOCAL} eps, ${POLICIES} policies)`,
        value: initial,
        unit: "ms",
        baseline: base,
      },
      { name: `${label}: policy change → enforced, median`, value: median, unit: "ms", baseline: base },
      {
        name: `${label}: policy change → enforced, p99`,
        value: p99,
        unit: "ms",
        baseline: base,
        goal: "≤ 50 ms",
      },
    ];
  } finally {
    await ns.remove();
  }
}

const bench: BenchModule = {
  title: "Felix dataplane: policy change → enforced (real kernel, in a namespace)",
  async run() {
    return [
      ...(await measure("nftables", { kind: "nftables" })),
      ...(await measure("iptables", { kind: "iptables", flavour: "nft" })),
    ];
  },
};

export default bench;
