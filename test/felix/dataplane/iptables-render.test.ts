/**
 * Pure rendering of the iptables mode: Calico's chain names, each match kind's iptables text in
 * both families, hook and NAT chains, and rule-identity comments that are stable across renders.
 */
import { describe, expect, it } from "vitest";
import { renderFilterChains, renderIptablesMatches } from "../../../src/felix/dataplane/index.js";
import {
  endpointChainName,
  hookRule,
  iptChainName,
  policyChainName,
  profileChainName,
  renderNatChains,
  ruleLine,
} from "../../../src/felix/dataplane/iptables/render.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { rule, sampleState } from "./fixtures.js";

const cfg = defaultRenderConfig();

describe("iptables chain names", () => {
  it("uses Calico's prefixes and stays within iptables' 28 characters", () => {
    expect(endpointChainName("inbound", "calia")).toBe("cali-tw-calia");
    expect(endpointChainName("outbound", "calia")).toBe("cali-fw-calia");
    expect(policyChainName("inbound", "x").startsWith("cali-pi-")).toBe(true);
    expect(policyChainName("outbound", "x").startsWith("cali-po-")).toBe(true);
    expect(profileChainName("inbound", "kns.a")).toBe("cali-pri-kns.a");
    expect(profileChainName("outbound", "kns.a")).toBe("cali-pro-kns.a");
    const long = iptChainName("cali-pri-", "a-very-long-profile-name-that-overflows");
    expect(long.length).toBe(28);
    expect(long.startsWith("cali-pri-")).toBe(true);
    expect(iptChainName("cali-pri-", "a-very-long-profile-name-that-overflows")).toBe(long);
  });
});

describe("iptables matches", () => {
  it("renders protocol, ports, ranges and sets", () => {
    const [m] = renderIptablesMatches(
      rule({
        protocol: "tcp",
        dstPorts: [
          { first: 80, last: 80 },
          { first: 8000, last: 8010 },
        ],
        srcIpSetIds: ["s:abc"],
        notDstIpSetIds: ["s:def"],
      }),
      4,
    );
    expect(m).toContain("-p 6");
    expect(m).toContain("-m multiport --dports 80,8000:8010");
    expect(m).toContain("-m set --match-set cali40s:abc src");
    expect(m).toContain("-m set ! --match-set cali40s:def dst");
  });

  it("renders named ports as ip,port set matches per family", () => {
    expect(renderIptablesMatches(rule({ protocol: "tcp", dstNamedPortIpSetIds: ["n:web"] }), 6)[0]).toContain(
      "-m set --match-set cali60n:web dst,dst",
    );
  });

  it("splits several nets into one rule each and negates with -s or iprange", () => {
    const alts = renderIptablesMatches(rule({ srcNets: ["10.0.0.0/8", "192.168.0.0/16"] }), 4);
    expect(alts).toEqual(["-s 10.0.0.0/8", "-s 192.168.0.0/16"]);
    expect(renderIptablesMatches(rule({ notDstNets: ["10.0.0.0/8"] }), 4)).toEqual(["! -d 10.0.0.0/8"]);
    const [neg] = renderIptablesMatches(rule({ notSrcNets: ["10.0.0.0/8", "172.16.0.0/12"] }), 4);
    expect(neg).toContain("-m iprange ! --src-range 10.0.0.0-10.255.255.255");
    expect(neg).toContain("-m iprange ! --src-range 172.16.0.0-172.31.255.255");
  });

  it("drops a rule whose nets are all of the other family", () => {
    expect(renderIptablesMatches(rule({ srcNets: ["10.0.0.0/8"] }), 6)).toEqual([]);
  });

  it("renders ICMP type/code for v4 and v6", () => {
    expect(renderIptablesMatches(rule({ protocol: "icmp", icmp: { type: 8, code: 0 } }), 4)[0]).toContain(
      "-m icmp --icmp-type 8/0",
    );
    expect(renderIptablesMatches(rule({ protocol: "icmpv6", notIcmp: { type: 128 } }), 6)[0]).toContain(
      "-m icmp6 ! --icmpv6-type 128",
    );
  });

  it("splits more than 15 ports over several multiport matches", () => {
    const ports = Array.from({ length: 20 }, (_, i) => ({ first: 1000 + i, last: 1000 + i }));
    expect(renderIptablesMatches(rule({ protocol: "udp", dstPorts: ports }), 4)).toHaveLength(2);
  });
});

describe("iptables filter chains", () => {
  const chains = renderFilterChains(sampleState(), 4, cfg);
  const byName = new Map(chains.map((c) => [c.name, c]));

  it("renders the top-level, dispatch, endpoint, policy and profile chains", () => {
    for (const name of [
      "cali-INPUT",
      "cali-FORWARD",
      "cali-OUTPUT",
      "cali-from-wl-dispatch",
      "cali-to-wl-dispatch",
      "cali-tw-calia",
      "cali-fw-calia",
      "cali-pri-kns.a",
      "cali-pro-kns.a",
    ])
      expect(byName.has(name), name).toBe(true);
    expect(chains.some((c) => c.name.startsWith("cali-pi-"))).toBe(true);
  });

  it("dispatches the endpoint's interface to its chains", () => {
    const to = byName.get("cali-to-wl-dispatch")?.rules.map((r) => r.body) ?? [];
    expect(to.some((b) => b.includes("-o calia") && b.includes("-g cali-tw-calia"))).toBe(true);
    const from = byName.get("cali-from-wl-dispatch")?.rules.map((r) => r.body) ?? [];
    expect(from.some((b) => b.includes("-i calia") && b.includes("-g cali-fw-calia"))).toBe(true);
  });

  it("the policy chain uses the selector and named-port sets", () => {
    const pi = chains.find((c) => c.name.startsWith("cali-pi-"));
    const bodies = pi?.rules.map((r) => r.body).join("\n") ?? "";
    expect(bodies).toContain("--match-set cali40s:src src");
    expect(bodies).toContain("--match-set cali40n:web dst,dst");
  });

  it("gives every rule a stable cali: hash comment", () => {
    const again = renderFilterChains(sampleState(), 4, cfg);
    expect(again.map((c) => c.rules.map((r) => r.hash))).toEqual(
      chains.map((c) => c.rules.map((r) => r.hash)),
    );
    const line = ruleLine("cali-tw-calia", byName.get("cali-tw-calia")?.rules[0] ?? { body: "", hash: "" });
    expect(line).toMatch(/^-A cali-tw-calia -m comment --comment "?cali:[A-Za-z0-9_-]+"? /);
  });

  it("hooks kernel chains with an inserted jump", () => {
    expect(ruleLine("FORWARD", hookRule("FORWARD", "cali-FORWARD"), "-I")).toMatch(
      /^-I FORWARD -m comment --comment "?cali:[A-Za-z0-9_-]+"? -j cali-FORWARD$/,
    );
  });
});

describe("iptables NAT outgoing", () => {
  it("masquerades from the masq pools set to outside the all pools set", () => {
    const chains = renderNatChains(4, cfg);
    const nat = chains.find((c) => c.name === "cali-nat-outgoing");
    expect(nat?.rules[0]?.body).toBe(
      "-m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully",
    );
    expect(chains.find((c) => c.name === "cali-POSTROUTING")?.rules[0]?.body).toBe("-j cali-nat-outgoing");
  });
});
