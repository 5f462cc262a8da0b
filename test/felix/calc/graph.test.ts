import { describe, expect, it } from "vitest";
import { CalcGraph, type ToDataplane } from "../../../src/felix/calc/index.js";
import { parseSelector, uniqueId } from "../../../src/selector/index.js";
import { DataplaneModel } from "./dataplane-model.js";
import {
  deleted,
  gnp,
  hep,
  networkSet,
  np,
  profile,
  stagedGnp,
  stagedKnp,
  stagedNp,
  tier,
  wep,
} from "./fixtures.js";

function started(hostname = "host1"): { graph: CalcGraph; dp: DataplaneModel; flush: () => ToDataplane[] } {
  const graph = new CalcGraph({ hostname });
  const dp = new DataplaneModel();
  const flush = () => {
    const batch = graph.flush();
    dp.apply(batch);
    return batch;
  };
  return { graph, dp, flush };
}

const sid = (sel: string) => parseSelector(sel).uniqueId();

describe("CalcGraph start of day", () => {
  it("emits nothing before InSync, then the whole state ending in InSync", () => {
    const { graph, flush } = started();
    graph.onUpdates([tier("default", 1_000_000), np("web", "default", { selector: "app == 'web'" })]);
    graph.onUpdate(wep("a", { labels: { app: "web" } }));
    expect(graph.flush()).toEqual([]);
    graph.onStatus("InSync");
    const batch = flush();
    expect(batch.at(-1)).toEqual({ type: "InSync" });
    expect(batch.map((m) => m.type)).toContain("WorkloadEndpointUpdate");
    graph.onStatus("ResyncInProgress");
    graph.onStatus("InSync");
    expect(flush().some((m) => m.type === "InSync")).toBe(false);
  });
});

describe("worked example", () => {
  it("turns a namespaced rule into a selector set, numeric ports and a named-port set", () => {
    const { graph, dp, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdates([
      tier("default", 1_000_000),
      np("web", "default", {
        selector: "app == 'web'",
        ingress: [
          {
            action: "Allow",
            protocol: "TCP",
            source: { selector: "role == 'fe'" },
            destination: { ports: [80, "http-alt"] },
          },
        ],
      }),
      wep("web1", { labels: { app: "web" }, ips: ["10.0.0.1/32"] }),
      wep("fe1", { node: "host2", labels: { role: "fe" }, ips: ["10.0.1.1/32"] }),
      wep("fe-other-ns", { ns: "other", node: "host2", labels: { role: "fe" }, ips: ["10.0.2.1/32"] }),
      wep("alt", {
        node: "host3",
        ips: ["10.0.3.1/32"],
        ports: [
          { name: "http-alt", protocol: "TCP", port: 8080 },
          { name: "http-alt", protocol: "UDP", port: 8081 },
        ],
      }),
    ]);
    flush();
    const policy = dp.policies.get("np/default/web")!;
    const rule = policy.policy.inboundRules[0]!;
    const h1 = sid("(projectcalico.org/namespace == 'default') && (role == 'fe')");
    const h2 = uniqueId("n", `${sid("all()")},tcp,http-alt`);
    expect(rule.srcIpSetIds).toEqual([h1]);
    expect(rule.dstIpSetIds).toEqual([]);
    expect(rule.dstPorts).toEqual([{ first: 80, last: 80 }]);
    expect(rule.dstNamedPortIpSetIds).toEqual([h2]);
    expect(rule.protocol).toBe("tcp");
    expect([...dp.ipSets.get(h1)!.members]).toEqual(["10.0.1.1/32"]);
    expect(dp.ipSets.get(h2)!.type).toBe("ip,port");
    expect([...dp.ipSets.get(h2)!.members]).toEqual(["10.0.3.1,tcp:8080"]);
    expect(policy.policy.selector).toBe("(app == 'web') && projectcalico.org/namespace == 'default'");
  });
});

describe("active rules", () => {
  it("activates a policy only while it matches a local endpoint", () => {
    const { graph, dp, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdates([tier("default", 1_000_000), gnp("p", { selector: "app == 'x'" })]);
    graph.onUpdate(wep("remote", { node: "host2", labels: { app: "x" } }));
    flush();
    expect(dp.policies.size).toBe(0);
    graph.onUpdate(wep("local", { labels: { app: "x" } }));
    flush();
    expect([...dp.policies.keys()]).toEqual(["gnp/p"]);
    graph.onUpdate(wep("local", { labels: { app: "y" } }));
    flush();
    expect(dp.policies.size).toBe(0);
    expect(dp.workloads.get("k8s/default/local/eth0")!.endpoint.tiers).toEqual([]);
  });

  it("forces AssumeNeededOnEveryNode policies active with no local match", () => {
    const { graph, dp, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdate(gnp("p", { selector: "app == 'nobody'", performanceHints: ["AssumeNeededOnEveryNode"] }));
    flush();
    expect(dp.policies.get("gnp/p")!.policy.performanceHints).toEqual(["AssumeNeededOnEveryNode"]);
  });

  it("ignores staged policies for enforcement", () => {
    const { graph, dp, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdates([
      tier("default", 1_000_000),
      stagedNp("s", "default", { selector: "all()", ingress: [{ action: "Deny" }] }),
      wep("a"),
    ]);
    flush();
    expect(dp.policies.size).toBe(0);
    expect(dp.workloads.get("k8s/default/a/eth0")!.endpoint.tiers).toEqual([]);
  });

  it("sends the dataplane exactly the same with or without staged policies of every kind", () => {
    const enforced = [
      tier("default", 1_000_000),
      tier("eng", 100),
      np("allow-web", "default", { selector: "app == 'web'", ingress: [{ action: "Allow" }] }),
      wep("web", { labels: { app: "web" }, ips: ["10.0.0.1/32"] }),
      wep("db", { labels: { app: "db" }, ips: ["10.0.0.2/32"] }),
    ];
    const deny = [{ action: "Deny" as const, source: { selector: "app == 'web'" } }];
    // Same names as enforced ones, a tier of their own, and a staged deletion of the enforced one.
    const staged = [
      stagedNp("allow-web", "default", { selector: "all()", ingress: deny }),
      stagedGnp("eng.lockdown", { tier: "eng", selector: "all()", ingress: deny, egress: deny }),
      stagedGnp("retire", { stagedAction: "Delete" }),
      stagedKnp("deny-all", "default"),
    ];
    const run = (updates: typeof enforced) => {
      const { graph, dp, flush } = started();
      graph.onUpdates(updates);
      graph.onStatus("InSync");
      return { batch: flush(), dp, graph, flush };
    };
    const plain = run(enforced);
    const mixed = run([...staged.slice(0, 2), ...enforced, ...staged.slice(2)]);
    expect(mixed.batch).toEqual(plain.batch);
    expect([...mixed.dp.policies.keys()]).toEqual(["np/default/allow-web"]);
    const tiers = mixed.dp.workloads.get("k8s/default/web/eth0")!.endpoint.tiers;
    expect(tiers.map((t) => t.name)).toEqual(["default"]);
    // Later staged changes and deletions reach nothing either.
    mixed.graph.onUpdates([
      stagedNp("allow-web", "default", { selector: "app == 'db'" }),
      deleted(staged[1]!),
    ]);
    expect(mixed.flush()).toEqual([]);
  });

  it("substitutes a deny-all profile for a missing one, and the real one when it appears", () => {
    const { graph, dp, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdate(wep("a", { profiles: ["kns.default"] }));
    flush();
    const denyAll = dp.profiles.get("kns.default")!.profile;
    expect(denyAll.inboundRules.map((r) => r.action)).toEqual(["deny"]);
    expect(denyAll.outboundRules.map((r) => r.action)).toEqual(["deny"]);
    graph.onUpdate(profile("kns.default", { ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }] }));
    flush();
    expect(dp.profiles.get("kns.default")!.profile.inboundRules.map((r) => r.action)).toEqual(["allow"]);
    graph.onUpdate(deleted(profile("kns.default")));
    flush();
    expect(dp.profiles.get("kns.default")!.profile.inboundRules.map((r) => r.action)).toEqual(["deny"]);
    graph.onUpdate(deleted(wep("a", { profiles: ["kns.default"] })));
    flush();
    expect(dp.profiles.size).toBe(0);
    expect(dp.workloads.size).toBe(0);
  });

  it("matches namespace selectors through inherited profile labels", () => {
    const { graph, dp, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdates([
      profile("kns.prod", { labels: { "pcns.env": "prod" } }),
      gnp("p", { selector: "all()", namespaceSelector: "env == 'prod'" }),
      wep("a", { ns: "prod", profiles: ["kns.prod"] }),
    ]);
    flush();
    expect(
      dp.workloads.get("k8s/prod/a/eth0")!.endpoint.tiers[0]!.ingressPolicies.map((p) => p.name),
    ).toEqual(["p"]);
    graph.onUpdate(profile("kns.prod", { labels: { "pcns.env": "dev" } }));
    flush();
    expect(dp.workloads.get("k8s/prod/a/eth0")!.endpoint.tiers).toEqual([]);
  });
});

describe("IP-set membership", () => {
  it("keeps a shared address until its last contributor goes", () => {
    const { graph, dp, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdates([
      gnp("p", { selector: "all()", ingress: [{ action: "Allow", source: { selector: "role == 'db'" } }] }),
      wep("local"),
      wep("db1", { node: "host2", labels: { role: "db" }, ips: ["10.9.0.1/32"] }),
      wep("db2", { node: "host3", labels: { role: "db" }, ips: ["10.9.0.1/32"] }),
      globalNetworkSetFixture(),
    ]);
    flush();
    const id = sid("role == 'db'");
    expect([...dp.ipSets.get(id)!.members].sort()).toEqual(["10.10.0.0/16", "10.9.0.1/32"]);
    graph.onUpdate(deleted(wep("db1", { node: "host2" })));
    flush();
    expect([...dp.ipSets.get(id)!.members].sort()).toEqual(["10.10.0.0/16", "10.9.0.1/32"]);
    graph.onUpdate(deleted(wep("db2", { node: "host3" })));
    flush();
    expect([...dp.ipSets.get(id)!.members]).toEqual(["10.10.0.0/16"]);
  });

  it("splits a /0 network-set member into two halves and scopes namespaced sets", () => {
    const { graph, dp, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdates([
      np("p", "default", {
        selector: "all()",
        egress: [{ action: "Allow", destination: { selector: "x == 'y'" } }],
      }),
      wep("local"),
      networkSet("world", "default", ["0.0.0.0/0"], { x: "y" }),
      networkSet("elsewhere", "other", ["10.1.0.0/16"], { x: "y" }),
    ]);
    flush();
    const id = sid("(projectcalico.org/namespace == 'default') && (x == 'y')");
    expect([...dp.ipSets.get(id)!.members].sort()).toEqual(["0.0.0.0/1", "128.0.0.0/1"]);
  });

  it("removes the set with the last rule using it, after the policy", () => {
    const { graph, dp, flush } = started();
    graph.onStatus("InSync");
    const rules = { ingress: [{ action: "Allow" as const, source: { selector: "a == 'b'" } }] };
    graph.onUpdates([
      gnp("p1", { selector: "all()", ...rules }),
      gnp("p2", { selector: "all()", ...rules }),
      wep("l"),
    ]);
    flush();
    const id = sid("a == 'b'");
    expect(dp.ipSets.has(id)).toBe(true);
    graph.onUpdate(deleted(gnp("p1")));
    flush();
    expect(dp.ipSets.has(id)).toBe(true);
    graph.onUpdate(deleted(gnp("p2")));
    const batch = flush();
    expect(batch.map((m) => m.type)).toEqual(["WorkloadEndpointUpdate", "ActivePolicyRemove", "IPSetRemove"]);
    expect(dp.ipSets.has(id)).toBe(false);
  });
});

describe("incremental updates", () => {
  it("a remote label change emits only an IP-set delta", () => {
    const { graph, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdates([
      gnp("p", { selector: "all()", ingress: [{ action: "Allow", source: { selector: "role == 'db'" } }] }),
      wep("local"),
      wep("r", { node: "host2", labels: { role: "web" }, ips: ["10.3.0.1/32"] }),
    ]);
    flush();
    graph.onUpdate(wep("r", { node: "host2", labels: { role: "db" }, ips: ["10.3.0.1/32"] }));
    expect(flush()).toEqual([
      {
        type: "IPSetDeltaUpdate",
        id: sid("role == 'db'"),
        addedMembers: ["10.3.0.1/32"],
        removedMembers: [],
      },
    ]);
    graph.onUpdate(wep("r", { node: "host2", labels: { role: "db" }, ips: ["10.3.0.1/32"] }));
    expect(flush()).toEqual([]);
  });

  it("coalesces an add and remove between flushes into nothing", () => {
    const { graph, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdates([
      gnp("p", { selector: "all()", ingress: [{ action: "Allow", source: { selector: "role == 'db'" } }] }),
      wep("local"),
    ]);
    flush();
    graph.onUpdate(wep("r", { node: "host2", labels: { role: "db" }, ips: ["10.3.0.1/32"] }));
    graph.onUpdate(deleted(wep("r", { node: "host2" })));
    expect(flush()).toEqual([]);
  });
});

describe("host endpoints", () => {
  it("splits tiers into untracked, pre-DNAT, forward and normal views", () => {
    const { graph, dp, flush } = started();
    graph.onStatus("InSync");
    graph.onUpdates([
      tier("default", 1_000_000),
      gnp("untracked", {
        selector: "all()",
        doNotTrack: true,
        applyOnForward: true,
        types: ["Ingress"],
        ingress: [{ action: "Allow" }],
      }),
      gnp("prednat", {
        selector: "all()",
        preDNAT: true,
        applyOnForward: true,
        types: ["Ingress"],
        ingress: [{ action: "Allow" }],
      }),
      gnp("fwd", { selector: "all()", applyOnForward: true, types: ["Ingress", "Egress"] }),
      gnp("normal", { selector: "all()", types: ["Egress"] }),
      hep("h", { iface: "eth0", ips: ["192.168.0.1"] }),
    ]);
    flush();
    const e = dp.hosts.get("h")!.endpoint;
    const names = (ts: typeof e.tiers) =>
      ts.map((t) => [
        t.name,
        t.defaultAction,
        t.ingressPolicies.map((p) => p.name),
        t.egressPolicies.map((p) => p.name),
      ]);
    expect(names(e.untrackedTiers)).toEqual([["default", "pass", ["untracked"], []]]);
    expect(names(e.preDnatTiers)).toEqual([["default", "pass", ["prednat"], []]]);
    expect(names(e.forwardTiers)).toEqual([["default", "deny", ["fwd"], ["fwd"]]]);
    expect(names(e.tiers)).toEqual([["default", "deny", ["fwd"], ["fwd", "normal"]]]);
    expect(e.expectedIpv4Addrs).toEqual(["192.168.0.1"]);
  });
});

function globalNetworkSetFixture() {
  return {
    kind: "GlobalNetworkSet",
    key: "/calico/resources/v3/projectcalico.org/globalnetworksets/dbs",
    value: {
      apiVersion: "projectcalico.org/v3",
      kind: "GlobalNetworkSet",
      metadata: { name: "dbs", labels: { role: "db" } },
      spec: { nets: ["10.10.0.0/16"] },
    },
  };
}
