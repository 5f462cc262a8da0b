import { describe, expect, it } from "vitest";
import { setElements } from "../../../src/felix/dataplane/nft/elements.js";
import { renderTable } from "../../../src/felix/dataplane/nft/text.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { renderEndpointChain } from "../../../src/felix/dataplane/rules/endpoint.js";
import { renderMatches } from "../../../src/felix/dataplane/rules/match.js";
import { renderRuleList } from "../../../src/felix/dataplane/rules/policy.js";
import { renderPolicyTable } from "../../../src/felix/dataplane/rules/ruleset.js";
import { DesiredPolicyState } from "../../../src/felix/dataplane/state.js";
import { gnp, policyBody, rule, tier, workload } from "./fixtures.js";

const cfg = defaultRenderConfig();
const owner = {
  description: "Policy gnp/web ingress",
  kind: "gnp",
  name: "web",
  namespace: "",
  tier: "default",
};
const known = { hasPolicy: () => true, hasProfile: () => true };

describe("match rendering", () => {
  it("renders protocol, nets, ports and selector sets", () => {
    const r = rule({
      protocol: "tcp",
      srcNets: ["10.0.0.0/8", "192.168.0.0/16"],
      notDstNets: ["10.1.0.0/16"],
      dstPorts: [
        { first: 80, last: 80 },
        { first: 8080, last: 8090 },
      ],
      notSrcPorts: [{ first: 1, last: 1023 }],
      srcIpSetIds: ["s:abc"],
      notDstIpSetIds: ["s:def"],
    });
    expect(renderMatches(r, 4)).toEqual([
      "meta l4proto 6 ip saddr { 10.0.0.0/8, 192.168.0.0/16 } ip saddr @cali40s-abc ip daddr != 10.1.0.0/16 ip daddr != @cali40s-def th sport != 1-1023 th dport { 80, 8080-8090 }",
    ]);
  });

  it("keeps a rule out of the family its ipVersion, CIDRs or ICMP protocol exclude", () => {
    expect(renderMatches(rule({ ipVersion: 6 }), 4)).toEqual([]);
    expect(renderMatches(rule({ srcNets: ["fd00::/64"] }), 4)).toEqual([]);
    expect(renderMatches(rule({ srcNets: ["fd00::/64"] }), 6)).toEqual(["ip6 saddr fd00::/64"]);
    expect(renderMatches(rule({ protocol: "icmp" }), 6)).toEqual([]);
    expect(renderMatches(rule({ protocol: "icmpv6", icmp: { type: 128 } }), 6)).toEqual([
      "meta l4proto 58 icmpv6 type 128",
    ]);
    expect(renderMatches(rule({}), 6)).toEqual([""]);
  });

  it("ORs numeric ports and named-port sets as separate variants", () => {
    const r = rule({
      protocol: 132,
      notProtocol: undefined,
      dstPorts: [{ first: 53, last: 53 }],
      dstNamedPortIpSetIds: ["n:x"],
    });
    expect(renderMatches(r, 4)).toEqual([
      "meta l4proto 132 th dport 53",
      "meta l4proto 132 ip daddr . meta l4proto . th dport @cali40n-x",
    ]);
  });

  it("negates ICMP type and code together", () => {
    expect(
      renderMatches(rule({ protocol: 1, notIcmp: { type: 8, code: 0 }, notProtocol: "udp" }), 4),
    ).toEqual(["meta l4proto 1 meta l4proto != 17 icmp type . icmp code != { 8 . 0 }"]);
  });
});

describe("policy chains", () => {
  it("maps each action to a mark and verdict, logging with the configured prefix", () => {
    const rules = [
      rule({ action: "log" }),
      rule({ action: "pass", protocol: "udp" }),
      rule({ action: "deny" }),
      rule(),
    ];
    expect(renderRuleList(rules, 4, { ...cfg, logPrefix: "cp-%k-%t-%n" }, owner)).toEqual([
      { body: 'log prefix "cp-gnp-default-web "', note: "Policy gnp/web ingress" },
      { body: "meta l4proto 17 meta mark set meta mark | 0x00020000 return" },
      { body: "meta mark set meta mark | 0x00040000 drop" },
      { body: "meta mark set meta mark | 0x00010000 return" },
    ]);
  });

  it("rate-limits log rules when configured", () => {
    const limited = { ...cfg, logActionRateLimit: "10/second", logActionRateLimitBurst: 3 };
    expect(renderRuleList([rule({ action: "log", protocol: "tcp" })], 4, limited, owner)).toEqual([
      {
        body: 'meta l4proto 6 limit rate 10/second burst 3 packets log prefix "calico-packet "',
        note: "Policy gnp/web ingress",
      },
    ]);
  });
});

describe("endpoint chains", () => {
  it("orders conntrack, tiers with end-of-tier drop, profiles and the final drop", () => {
    const ep = workload("calia", ["10.0.0.1/32"], {
      tiers: [tier("t1", [gnp("a", "t1")], [], "pass"), tier("default", [gnp("b")])],
      profileIds: ["kns.x"],
    });
    expect(renderEndpointChain(ep, "inbound", cfg, known)).toEqual([
      { body: "ct state established,related accept" },
      { body: "ct state invalid drop" },
      { body: "meta mark set meta mark & 0xfffcffff" },
      { body: "meta mark set meta mark & 0xfffdffff", note: "Start of tier t1" },
      { body: "meta mark & 0x00020000 == 0x00000000 jump filter-cali-pi-gnp/a" },
      { body: "meta mark & 0x00010000 == 0x00010000 return", note: "Return if policy accepted" },
      { body: "meta mark set meta mark & 0xfffdffff", note: "Start of tier default" },
      { body: "meta mark & 0x00020000 == 0x00000000 jump filter-cali-pi-gnp/b" },
      { body: "meta mark & 0x00010000 == 0x00010000 return", note: "Return if policy accepted" },
      {
        body: "meta mark & 0x00020000 == 0x00000000 drop",
        note: "End of tier default. Drop if no policies passed packet",
      },
      { body: "jump filter-cali-pri-kns.x" },
      { body: "meta mark & 0x00010000 == 0x00010000 return", note: "Return if profile accepted" },
      { body: "drop", note: "Drop if no profiles matched" },
    ]);
  });

  it("fails closed when a referenced policy or profile is missing", () => {
    const ep = workload("calia", [], { tiers: [tier("default", [], [gnp("gone")])], profileIds: ["nope"] });
    const bodies = renderEndpointChain(ep, "outbound", cfg, {
      hasPolicy: () => false,
      hasProfile: () => false,
    }).map((r) => r.body);
    expect(bodies.some((b) => b.includes("jump"))).toBe(false);
    expect(bodies).toContain("meta mark & 0x00020000 == 0x00000000 drop");
    expect(bodies.at(-1)).toBe("drop");
  });
});

describe("IP set elements", () => {
  it("splits families, drops covered nets and encodes ip,port members", () => {
    expect(setElements("net", 4, ["10.0.0.5/32", "10.0.0.0/24", "fd00::1/128", "10.1.0.1/32"])).toEqual([
      "10.0.0.0/24",
      "10.1.0.1",
    ]);
    expect(setElements("net", 6, ["10.0.0.5/32", "fd00:0:0::1/128"])).toEqual(["fd00::1"]);
    expect(setElements("addr-port", 4, ["10.0.0.5,tcp:8080", "fd00::5,udp:53"])).toEqual([
      "10.0.0.5 . 6 . 8080",
    ]);
  });
});

describe("whole table", () => {
  it("renders an exact small table", () => {
    const s = new DesiredPolicyState();
    s.onUpdate({ type: "IPSetUpdate", id: "s:src", setType: "net", members: ["10.240.0.2/32"] });
    s.onUpdate({
      type: "ActivePolicyUpdate",
      id: gnp("web"),
      policy: policyBody([
        rule({ protocol: "tcp", srcIpSetIds: ["s:src"], dstPorts: [{ first: 80, last: 80 }] }),
      ]),
    });
    s.onUpdate({
      type: "WorkloadEndpointUpdate",
      id: { orchestratorId: "k8s", workloadId: "ns/a", endpointId: "eth0" },
      endpoint: workload("calia", ["10.240.0.1/32"], { tiers: [tier("default", [gnp("web")])] }),
    });
    const text = renderTable(renderPolicyTable(s, 4, cfg)).replace(/cali:[\w-]{16};/g, "cali:H;");
    expect(text).toMatchInlineSnapshot(`
      "add table ip calico
      delete table ip calico
      add table ip calico
      add set ip calico cali40s-src { type ipv4_addr; flags interval; }
      add element ip calico cali40s-src { 10.240.0.2 }
      add chain ip calico filter-INPUT { type filter hook input priority 0; policy accept; }
      add chain ip calico filter-FORWARD { type filter hook forward priority 0; policy accept; }
      add chain ip calico filter-OUTPUT { type filter hook output priority 0; policy accept; }
      add chain ip calico filter-cali-INPUT
      add chain ip calico filter-cali-FORWARD
      add chain ip calico filter-cali-OUTPUT
      add chain ip calico filter-cali-wl-to-host
      add chain ip calico filter-cali-from-wl-dispatch
      add chain ip calico filter-cali-to-wl-dispatch
      add chain ip calico filter-cali-tw-calia
      add chain ip calico filter-cali-fw-calia
      add chain ip calico filter-cali-pi-gnp/web
      add chain ip calico filter-cali-po-gnp/web
      add map ip calico filter-cali-from-wl-dispatch { type ifname : verdict; }
      add element ip calico filter-cali-from-wl-dispatch { "calia" : goto filter-cali-fw-calia }
      add map ip calico filter-cali-to-wl-dispatch { type ifname : verdict; }
      add element ip calico filter-cali-to-wl-dispatch { "calia" : goto filter-cali-tw-calia }
      add rule ip calico filter-INPUT jump filter-cali-INPUT comment "cali:H;"
      add rule ip calico filter-FORWARD jump filter-cali-FORWARD comment "cali:H;"
      add rule ip calico filter-FORWARD meta mark & 0x00010000 == 0x00010000 accept comment "cali:H; Policy explicitly accepted packet."
      add rule ip calico filter-FORWARD meta mark set meta mark | 0x00010000 comment "cali:H;"
      add rule ip calico filter-OUTPUT jump filter-cali-OUTPUT comment "cali:H;"
      add rule ip calico filter-cali-INPUT iifname "cali*" goto filter-cali-wl-to-host comment "cali:H;"
      add rule ip calico filter-cali-INPUT meta mark & 0x00010000 == 0x00010000 accept comment "cali:H;"
      add rule ip calico filter-cali-INPUT meta mark set meta mark & 0xffe4ffff comment "cali:H;"
      add rule ip calico filter-cali-FORWARD meta mark set meta mark & 0xffe5ffff comment "cali:H;"
      add rule ip calico filter-cali-FORWARD iifname "cali*" jump filter-cali-from-wl-dispatch comment "cali:H;"
      add rule ip calico filter-cali-FORWARD oifname "cali*" jump filter-cali-to-wl-dispatch comment "cali:H;"
      add rule ip calico filter-cali-OUTPUT meta mark & 0x00010000 == 0x00010000 accept comment "cali:H;"
      add rule ip calico filter-cali-OUTPUT oifname "cali*" return comment "cali:H;"
      add rule ip calico filter-cali-OUTPUT meta mark set meta mark & 0xffe4ffff comment "cali:H;"
      add rule ip calico filter-cali-wl-to-host jump filter-cali-from-wl-dispatch comment "cali:H;"
      add rule ip calico filter-cali-wl-to-host drop comment "cali:H; Configured DefaultEndpointToHostAction"
      add rule ip calico filter-cali-from-wl-dispatch iifname vmap @filter-cali-from-wl-dispatch comment "cali:H;"
      add rule ip calico filter-cali-from-wl-dispatch drop comment "cali:H; Unknown interface"
      add rule ip calico filter-cali-to-wl-dispatch oifname vmap @filter-cali-to-wl-dispatch comment "cali:H;"
      add rule ip calico filter-cali-to-wl-dispatch drop comment "cali:H; Unknown interface"
      add rule ip calico filter-cali-tw-calia ct state established,related accept comment "cali:H;"
      add rule ip calico filter-cali-tw-calia ct state invalid drop comment "cali:H;"
      add rule ip calico filter-cali-tw-calia meta mark set meta mark & 0xfffcffff comment "cali:H;"
      add rule ip calico filter-cali-tw-calia meta mark set meta mark & 0xfffdffff comment "cali:H; Start of tier default"
      add rule ip calico filter-cali-tw-calia meta mark & 0x00020000 == 0x00000000 jump filter-cali-pi-gnp/web comment "cali:H;"
      add rule ip calico filter-cali-tw-calia meta mark & 0x00010000 == 0x00010000 return comment "cali:H; Return if policy accepted"
      add rule ip calico filter-cali-tw-calia meta mark & 0x00020000 == 0x00000000 drop comment "cali:H; End of tier default. Drop if no policies passed packet"
      add rule ip calico filter-cali-tw-calia drop comment "cali:H; Drop if no profiles matched"
      add rule ip calico filter-cali-fw-calia ct state established,related accept comment "cali:H;"
      add rule ip calico filter-cali-fw-calia ct state invalid drop comment "cali:H;"
      add rule ip calico filter-cali-fw-calia meta mark set meta mark & 0xfffcffff comment "cali:H;"
      add rule ip calico filter-cali-fw-calia meta l4proto 17 th dport 4789 drop comment "cali:H; Drop VXLAN encapped packets originating in workloads"
      add rule ip calico filter-cali-fw-calia meta l4proto 4 drop comment "cali:H; Drop IPinIP encapped packets originating in workloads"
      add rule ip calico filter-cali-fw-calia drop comment "cali:H; Drop if no profiles matched"
      add rule ip calico filter-cali-pi-gnp/web meta l4proto 6 ip saddr @cali40s-src th dport 80 meta mark set meta mark | 0x00010000 return comment "cali:H; Policy gnp/web ingress"
      "
    `);
  });
});

describe("what gets programmed", () => {
  const wep = (name: string, n: number, tiers: ReturnType<typeof tier>[] = []) => ({
    type: "WorkloadEndpointUpdate" as const,
    id: { orchestratorId: "k8s", workloadId: `ns/w${n}`, endpointId: "eth0" },
    endpoint: workload(name, [`10.240.0.${n}/32`], { tiers }),
  });

  it("renders policy chains only when an endpoint reaches them or the policy asks to be everywhere", () => {
    const s = new DesiredPolicyState();
    s.onUpdate({ type: "ActivePolicyUpdate", id: gnp("used"), policy: policyBody([rule()]) });
    s.onUpdate({ type: "ActivePolicyUpdate", id: gnp("idle"), policy: policyBody([rule()]) });
    s.onUpdate({
      type: "ActivePolicyUpdate",
      id: gnp("everywhere"),
      policy: { ...policyBody([rule()]), performanceHints: ["AssumeNeededOnEveryNode"] },
    });
    s.onUpdate(wep("calia", 1, [tier("default", [gnp("used")])]));
    const names = [...renderPolicyTable(s, 4, cfg).chains.keys()].filter((n) => n.includes("-pi-"));
    expect(names).toEqual(["filter-cali-pi-gnp/everywhere", "filter-cali-pi-gnp/used"]);
  });

  it("gives an interface claimed twice to the smaller endpoint id", () => {
    const s = new DesiredPolicyState();
    s.onUpdate(wep("calidup", 2, [tier("default", [gnp("x")])]));
    s.onUpdate(wep("calidup", 1));
    const tw = renderPolicyTable(s, 4, cfg).chains.get("filter-cali-tw-calidup");
    expect(tw?.rules.map((r) => r.body)).not.toContain("meta mark set meta mark & 0xfffdffff");
    s.onUpdate({
      type: "WorkloadEndpointRemove",
      id: { orchestratorId: "k8s", workloadId: "ns/w1", endpointId: "eth0" },
    });
    const after = renderPolicyTable(s, 4, cfg).chains.get("filter-cali-tw-calidup");
    expect(after?.rules.map((r) => r.body)).toContain("meta mark set meta mark & 0xfffdffff");
  });

  it("chains rule identities so a change re-identifies everything after it", () => {
    const s = new DesiredPolicyState();
    s.onUpdate({
      type: "ActivePolicyUpdate",
      id: gnp("p"),
      policy: policyBody([rule(), rule({ action: "deny" })]),
    });
    s.onUpdate(wep("calia", 1, [tier("default", [gnp("p")])]));
    const before = renderPolicyTable(s, 4, cfg)
      .chains.get("filter-cali-pi-gnp/p")
      ?.rules.map((r) => r.hash);
    expect(
      renderPolicyTable(s, 4, cfg)
        .chains.get("filter-cali-pi-gnp/p")
        ?.rules.map((r) => r.hash),
    ).toEqual(before);
    s.onUpdate({
      type: "ActivePolicyUpdate",
      id: gnp("p"),
      policy: policyBody([rule({ protocol: "udp" }), rule({ action: "deny" })]),
    });
    const after = renderPolicyTable(s, 4, cfg)
      .chains.get("filter-cali-pi-gnp/p")
      ?.rules.map((r) => r.hash);
    expect(after?.[0]).not.toBe(before?.[0]);
    expect(after?.[1]).not.toBe(before?.[1]);
  });
});
