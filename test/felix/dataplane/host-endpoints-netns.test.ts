/**
 * Host endpoints in the kernel, both modes: a host namespace with two workloads and two "outside"
 * namespaces on their own links (hep0: 10.99.0.0/24, hep1: 10.98.0.0/24), real TCP/UDP probes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HostEndpoint, Rule, TierInfo, ToDataplane } from "../../../src/felix/calc/messages.js";
import { type PolicyBackend, PolicyDataplane } from "../../../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig, type RenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import {
  DEFAULT_FAILSAFE_INBOUND,
  DEFAULT_FAILSAFE_OUTBOUND,
} from "../../../src/felix/dataplane/rules/failsafe.js";
import type { DesiredPolicyState } from "../../../src/felix/dataplane/state.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";
import { gnp, hep, policyBody, rule, tier, workload } from "./fixtures.js";
import { Lab, type LabWorkload } from "./lab.js";

const BACKENDS: Array<[string, PolicyBackend]> = [
  ["nftables", { kind: "nftables" }],
  ["iptables (nft flavour)", { kind: "iptables", flavour: "nft" }],
];

const tcp = (port: number, over: Partial<Rule> = {}) =>
  rule({ protocol: "tcp", dstPorts: [{ first: port, last: port }], ...over });

describe.each(BACKENDS)("host endpoints, %s", (_name, backend) => {
  const PREFIX = backend.kind === "nftables" ? "cts-hep" : "cts-hepi";
  let lab: Lab;
  let w1: LabWorkload;
  let w2: LabWorkload;
  /** The host itself, as a probe source or target. */
  let host: LabWorkload;
  /** Outside peers: A behind hep0, B behind hep1. */
  let extA: LabWorkload;
  let extB: LabWorkload;
  let dp: PolicyDataplane;

  const run = () => (argv: string[], input?: string) => lab.host.exec(argv, { input });

  function dataplane(over: Partial<RenderConfig> = {}): PolicyDataplane {
    return new PolicyDataplane(run(), defaultRenderConfig(over), backend);
  }

  async function send(...msgs: ToDataplane[]) {
    for (const m of msgs) dp.onUpdate(m);
    return dp.apply();
  }

  /** A new dataplane with another config, fed what the old one knew: Felix restarted. */
  async function restart(over: Partial<RenderConfig> = {}, ...extra: ToDataplane[]) {
    const msgs = replay(dp.state);
    dp = dataplane(over);
    return send(...msgs, ...extra);
  }

  const hepMsg = (id: string, endpoint: HostEndpoint): ToDataplane => ({
    type: "HostEndpointUpdate",
    id: { endpointId: id },
    endpoint,
  });
  const hepRemove = (id: string): ToDataplane => ({ type: "HostEndpointRemove", id: { endpointId: id } });
  const policy = (name: string, inbound: Rule[], outbound: Rule[] = []): ToDataplane => ({
    type: "ActivePolicyUpdate",
    id: gnp(name),
    policy: policyBody(inbound, outbound),
  });
  const ingress = (...names: string[]): TierInfo[] => [
    tier(
      "default",
      names.map((n) => gnp(n)),
    ),
  ];

  async function outside(name: string, link: string, subnet: string, v6: string): Promise<LabWorkload> {
    const ns = await createNetns(`${PREFIX}${name}`);
    await lab.host.execOk([
      "ip",
      "link",
      "add",
      link,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      ns.name,
    ]);
    await lab.host.execOk(["ip", "addr", "add", `${subnet}.1/24`, "dev", link]);
    await lab.host.execOk(["ip", "link", "set", link, "up"]);
    await ns.execOk(["ip", "addr", "add", `${subnet}.2/24`, "dev", "eth0"]);
    await ns.execOk(["ip", "link", "set", "eth0", "up"]);
    await ns.execOk(["ip", "route", "add", "default", "via", `${subnet}.1`]);
    await lab.host.execOk(["ip", "-6", "addr", "add", `${v6}::1/64`, "dev", link, "nodad"]);
    await ns.execOk(["ip", "-6", "addr", "add", `${v6}::2/64`, "dev", "eth0", "nodad"]);
    await ns.execOk(["ip", "-6", "route", "add", "default", "via", `${v6}::1`]);
    // Static neighbours: as in Calico, host endpoint policy also judges neighbour discovery.
    const mac = async (n: Netns, dev: string) =>
      (await n.ipJson<{ address: string }[]>(["link", "show", dev]))[0]?.address ?? "";
    const neigh = (addr: string, lladdr: string, dev: string) => [
      "ip",
      "-6",
      "neigh",
      "replace",
      addr,
      "lladdr",
      lladdr,
      "dev",
      dev,
      "nud",
      "permanent",
    ];
    await lab.host.execOk(neigh(`${v6}::2`, await mac(ns, "eth0"), link));
    await ns.execOk(neigh(`${v6}::1`, await mac(lab.host, link), "eth0"));
    return { ns, iface: link, ipv4: `${subnet}.2`, ipv6: `${v6}::2` };
  }

  beforeAll(async () => {
    lab = await Lab.create(PREFIX);
    w1 = await lab.addWorkload(PREFIX, 1);
    w2 = await lab.addWorkload(PREFIX, 2);
    extA = await outside("a", "hep0", "10.99.0", "fd00:99");
    extB = await outside("b", "hep1", "10.98.0", "fd00:98");
    host = { ns: lab.host, iface: "hep0", ipv4: "10.99.0.1", ipv6: "fd00:99::1" };
    await lab.serve(host, [22, 179, 2379, 8080], [68]);
    await lab.serve(w2, [80], []);
    await lab.serve(extA, [2379, 8080], []);
    await lab.serve(extB, [80, 8080], []);
    dp = dataplane();
    await send(
      {
        type: "ActiveProfileUpdate",
        id: { name: "kns.test" },
        profile: { inboundRules: [rule()], outboundRules: [rule()] },
      },
      ...[w1, w2].map(
        (w, i): ToDataplane => ({
          type: "WorkloadEndpointUpdate",
          id: { orchestratorId: "k8s", workloadId: `test/w${i + 1}`, endpointId: "eth0" },
          endpoint: workload(w.iface, [`${w.ipv4}/32`], { profileIds: ["kns.test"] }),
        }),
      ),
    );
  }, 90_000);

  afterAll(async () => {
    await lab?.close();
    await extA?.ns.remove();
    await extB?.ns.remove();
    await removeAll();
  });

  it("leaves the host open without host endpoints", async () => {
    expect(await lab.probe(extA, "tcp", host.ipv4, 8080)).toBe("open");
    expect(await lab.probe(host, "tcp", extA.ipv4, 8080)).toBe("open");
  }, 90_000);

  it("denies by default on a named host endpoint but keeps the failsafe ports open", async () => {
    await send(hepMsg("node1-hep0", hep("hep0")));
    expect(await lab.probe(extA, "tcp", host.ipv4, 8080)).toBe("timeout");
    for (const port of [22, 179, 2379]) expect(await lab.probe(extA, "tcp", host.ipv4, port)).toBe("open");
    expect(await lab.probe(extA, "udp", host.ipv4, 68)).toBe("open");
    // The same over IPv6.
    expect(await lab.probe(extA, "tcp", host.ipv6, 8080)).toBe("timeout");
    expect(await lab.probe(extA, "tcp", host.ipv6, 22)).toBe("open");
    expect(await lab.probe(host, "tcp", extA.ipv6, 2379)).toBe("open");
    expect(await lab.probe(host, "tcp", extA.ipv6, 8080)).toBe("timeout");
    // Outbound: only failsafe destinations (etcd 2379 is one, 8080 is not).
    expect(await lab.probe(host, "tcp", extA.ipv4, 2379)).toBe("open");
    expect(await lab.probe(host, "tcp", extA.ipv4, 8080)).toBe("timeout");
    // Another interface is not this endpoint's business.
    expect(await lab.probe(extB, "tcp", "10.98.0.1", 8080)).toBe("open");
    // Forwarded traffic and the host's own workloads keep working.
    expect(await lab.probe(extA, "tcp", w2.ipv4, 80)).toBe("open");
    expect(await lab.probe(w1, "tcp", extB.ipv4, 80)).toBe("open");
    expect(await lab.probe(host, "tcp", w2.ipv4, 80)).toBe("open");
  }, 90_000);

  it("a policy selecting the endpoint opens its port; profiles come after tiers", async () => {
    await send(
      policy("host-web", [tcp(8080)]),
      hepMsg("node1-hep0", hep("hep0", { tiers: ingress("host-web") })),
    );
    expect(await lab.probe(extA, "tcp", host.ipv4, 8080)).toBe("open");
    expect(await lab.probe(extA, "tcp", host.ipv4, 22)).toBe("open");
    await send(hepMsg("node1-hep0", hep("hep0", { profileIds: ["kns.test"] })));
    expect(await lab.probe(host, "tcp", extA.ipv4, 8080)).toBe("open");
  }, 90_000);

  it("closes a port removed from the failsafe list, and an empty list keeps none", async () => {
    await send(hepMsg("node1-hep0", hep("hep0")));
    await restart({
      failsafeInbound: DEFAULT_FAILSAFE_INBOUND.filter((p) => p.port !== 22),
      failsafeOutbound: DEFAULT_FAILSAFE_OUTBOUND,
    });
    expect(await lab.probe(extA, "tcp", host.ipv4, 22)).toBe("timeout");
    expect(await lab.probe(extA, "tcp", host.ipv4, 179)).toBe("open");
    // The net form: 2379 only from 10.98.0.0/24, i.e. not from A.
    await restart(
      { failsafeInbound: [{ protocol: "tcp", port: 2379, net: "10.98.0.0/24" }], failsafeOutbound: [] },
      hepMsg("node1-hep1", hep("hep1")),
    );
    expect(await lab.probe(extA, "tcp", host.ipv4, 2379)).toBe("timeout");
    expect(await lab.probe(extB, "tcp", "10.98.0.1", 2379)).toBe("open");
    expect(await lab.probe(extA, "tcp", host.ipv4, 179)).toBe("timeout");
    expect(await lab.probe(host, "tcp", extA.ipv4, 2379)).toBe("timeout");
    await restart({}, hepRemove("node1-hep1"));
    expect(await lab.probe(extA, "tcp", host.ipv4, 22)).toBe("open");
  }, 90_000);

  it("an endpoint with expectedIPs only protects the interface holding one of them", async () => {
    await send(hepMsg("node1-by-ip", hep("", { expectedIpv4Addrs: ["10.98.0.1"] })));
    expect(await lab.probe(extB, "tcp", "10.98.0.1", 8080)).toBe("timeout");
    expect(await lab.probe(extB, "tcp", "10.98.0.1", 22)).toBe("open");
    await send(hepRemove("node1-by-ip"));
    expect(await lab.probe(extB, "tcp", "10.98.0.1", 8080)).toBe("open");
  }, 90_000);

  it("interfaceName '*' protects every host interface without touching forwarded pod traffic", async () => {
    await send(hepRemove("node1-hep0"), hepMsg("node1-all", hep("*")));
    expect(await lab.probe(extA, "tcp", host.ipv4, 8080)).toBe("timeout");
    expect(await lab.probe(extB, "tcp", "10.98.0.1", 8080)).toBe("timeout");
    expect(await lab.probe(extB, "tcp", "10.98.0.1", 22)).toBe("open");
    expect(await lab.probe(extB, "tcp", "fd00:98::1", 8080)).toBe("timeout");
    expect(await lab.probe(extB, "tcp", "fd00:98::1", 22)).toBe("open");
    expect(await lab.probe(extA, "tcp", w2.ipv4, 80)).toBe("open");
    expect(await lab.probe(w1, "tcp", extB.ipv4, 8080)).toBe("open");
    expect(await lab.probe(host, "tcp", w2.ipv4, 80)).toBe("open");
  }, 90_000);

  it("workload → own host follows DefaultEndpointToHostAction, not the host endpoint", async () => {
    // Drop (the default) drops even what the workload's egress allows.
    expect(await lab.probe(w1, "tcp", host.ipv4, 8080)).toBe("timeout");
    for (const action of ["accept", "return"] as const) {
      await restart({ endpointToHostAction: action });
      expect(await lab.probe(w1, "tcp", host.ipv4, 8080)).toBe("open");
    }
    await restart({}, hepRemove("node1-all"));
  }, 90_000);

  it("preDNAT policy judges the original destination, before the DNAT", async () => {
    // A nodeport-style DNAT: host port 30080 → workload w2:80.
    await lab.host.execOk(["nft", "-f", "-"], {
      input: [
        "add table ip test-dnat",
        "add chain ip test-dnat pre { type nat hook prerouting priority -100; policy accept; }",
        `add rule ip test-dnat pre tcp dport 30080 dnat to ${w2.ipv4}:80`,
        "",
      ].join("\n"),
    });
    const edge = (tiers: TierInfo[]) => [
      hepMsg("node1-hep0", hep("hep0", { profileIds: ["kns.test"], preDnatTiers: tiers })),
      hepMsg("node1-hep1", hep("hep1", { profileIds: ["kns.test"], preDnatTiers: tiers })),
    ];
    await send(...edge([]));
    expect(await lab.probe(extA, "tcp", host.ipv4, 30080)).toBe("open");
    expect(await lab.probe(extB, "tcp", "10.98.0.1", 30080)).toBe("open");
    const preDnat = (name: string, inbound: Rule[]): ToDataplane => ({
      type: "ActivePolicyUpdate",
      id: gnp(name),
      policy: { ...policyBody(inbound), preDnat: true, applyOnForward: true },
    });
    const pass = (name: string) => [tier("default", [gnp(name)], [], "pass")];
    await send(
      preDnat("block-b", [
        tcp(30080, { action: "deny", srcNets: ["10.98.0.0/24"] }),
        tcp(30080, { srcNets: ["10.99.0.0/24"] }),
      ]),
      ...edge(pass("block-b")),
    );
    expect(await lab.probe(extA, "tcp", host.ipv4, 30080)).toBe("open");
    expect(await lab.probe(extB, "tcp", "10.98.0.1", 30080)).toBe("timeout");
    // After translation the port is 80: a pre-DNAT rule on 80 never sees these packets.
    await send(preDnat("block-b", [tcp(80, { action: "deny", srcNets: ["10.98.0.0/24"] })]));
    expect(await lab.probe(extB, "tcp", "10.98.0.1", 30080)).toBe("open");
    await send(...edge([]).map((m) => (m.type === "HostEndpointUpdate" ? hepRemove(m.id.endpointId) : m)));
    await lab.host.execOk(["nft", "delete", "table", "ip", "test-dnat"]);
  }, 90_000);

  it("doNotTrack: allowed both ways flows untracked; one direction only breaks the flow", async () => {
    const untracked = (name: string, inbound: Rule[], outbound: Rule[]): ToDataplane => ({
      type: "ActivePolicyUpdate",
      id: gnp(name),
      policy: { ...policyBody(inbound, outbound), untracked: true, applyOnForward: true },
    });
    const both = [tier("default", [gnp("dnt")], [gnp("dnt")], "pass")];
    await send(
      untracked("dnt", [tcp(8080)], [rule({ protocol: "tcp", srcPorts: [{ first: 8080, last: 8080 }] })]),
      hepMsg("node1-hep0", hep("hep0", { untrackedTiers: both })),
    );
    await lab.host.execOk(["conntrack", "-F"]);
    expect(await lab.probe(extA, "tcp", host.ipv4, 8080)).toBe("open");
    // Tracked traffic (a failsafe port) shows up, so conntrack is watching this namespace.
    expect(await lab.probe(extA, "tcp", host.ipv4, 22)).toBe("open");
    const table = (await lab.host.exec(["conntrack", "-L", "-p", "tcp"])).stdout;
    expect(table).toContain("dport=22");
    expect(table).not.toContain("dport=8080");
    // Without the egress half, the reply is neither untracked-allowed nor part of a tracked flow.
    await send(untracked("dnt", [tcp(8080)], []));
    expect(await lab.probe(extA, "tcp", host.ipv4, 8080)).toBe("timeout");
    await send(hepRemove("node1-hep0"), { type: "ActivePolicyRemove", id: gnp("dnt") });
  }, 90_000);

  it("applyOnForward: a gateway forwards only what the forward policy allows", async () => {
    const edge = (forwardTiers: TierInfo[]) => hepMsg("node1-hep0", hep("hep0", { forwardTiers }));
    await send(edge([]));
    // Normal host endpoint policy (default deny here) does not apply to forwarded traffic.
    expect(await lab.probe(extA, "tcp", extB.ipv4, 8080)).toBe("open");
    await send(policy("fwd-web", [tcp(80)]), edge(ingress("fwd-web")));
    expect(await lab.probe(extA, "tcp", extB.ipv4, 80)).toBe("open");
    expect(await lab.probe(extA, "tcp", extB.ipv4, 8080)).toBe("timeout");
    // Egress through hep0 has no forward policy: allowed.
    expect(await lab.probe(extB, "tcp", extA.ipv4, 8080)).toBe("open");
    await send(
      policy("fwd-out", [], [tcp(2379)]),
      edge([tier("default", [gnp("fwd-web")], [gnp("fwd-out")])]),
    );
    expect(await lab.probe(extB, "tcp", extA.ipv4, 8080)).toBe("timeout");
    expect(await lab.probe(extB, "tcp", extA.ipv4, 2379)).toBe("open");
    await send(hepRemove("node1-hep0"));
    expect(await lab.probe(extA, "tcp", extB.ipv4, 8080)).toBe("open");
  }, 90_000);

  it("repairs drift in the host endpoint chains on the next resync", async () => {
    await send(hepMsg("node1-hep0", hep("hep0")));
    expect(await lab.probe(extA, "tcp", host.ipv4, 22)).toBe("open");
    if (backend.kind === "nftables")
      await lab.host.execOk(["nft", "flush", "chain", "ip", "calico", "filter-cali-failsafe-in"]);
    else await lab.host.execOk(["iptables", "-F", "cali-failsafe-in"]);
    expect(await lab.probe(extA, "tcp", host.ipv4, 22)).toBe("timeout");
    dp.resync();
    await dp.apply();
    expect(await lab.probe(extA, "tcp", host.ipv4, 22)).toBe("open");
    await send(hepRemove("node1-hep0"));
  }, 90_000);

  it("a restarted dataplane adopts the host endpoint chains and sweeps them when they go", async () => {
    await send(hepMsg("node1-all", hep("*")));
    const first = await restart();
    const written = backend.kind === "nftables" ? (first.nft?.[4].script ?? "") : (first.iptables?.[4] ?? "");
    expect(written).toBe("");
    expect(await lab.probe(extA, "tcp", host.ipv4, 8080)).toBe("timeout");
    await send(hepRemove("node1-all"));
    expect(await lab.probe(extA, "tcp", host.ipv4, 8080)).toBe("open");
    const dump =
      backend.kind === "nftables"
        ? (await lab.host.execOk(["nft", "list", "table", "ip", "calico"])).stdout
        : (await lab.host.execOk(["iptables-save"])).stdout;
    expect(dump).not.toContain("cali-fh-");
    expect(dump).not.toContain("cali-failsafe");
  }, 90_000);
});

/** Messages that rebuild a dataplane's desired state. */
function replay(s: DesiredPolicyState): ToDataplane[] {
  const out: ToDataplane[] = [];
  for (const [id, set] of s.ipSets)
    out.push({ type: "IPSetUpdate", id, setType: set.setType, members: [...set.members] });
  for (const [name, profile] of s.profiles) out.push({ type: "ActiveProfileUpdate", id: { name }, profile });
  for (const { id, policy } of s.policies.values()) out.push({ type: "ActivePolicyUpdate", id, policy });
  for (const [key, endpoint] of s.workloads) {
    const [orchestratorId = "", ns = "", wl = "", endpointId = ""] = key.split("/");
    out.push({
      type: "WorkloadEndpointUpdate",
      id: { orchestratorId, workloadId: `${ns}/${wl}`, endpointId },
      endpoint,
    });
  }
  for (const [endpointId, endpoint] of s.hostEndpoints)
    out.push({ type: "HostEndpointUpdate", id: { endpointId }, endpoint });
  return out;
}
