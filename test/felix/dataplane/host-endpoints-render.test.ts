import { describe, expect, it } from "vitest";
import { parseFelixParams } from "../../../src/felix/daemon/params.js";
import { renderFilterChains, renderHostTableChains } from "../../../src/felix/dataplane/iptables/render.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import {
  DEFAULT_FAILSAFE_INBOUND,
  DEFAULT_FAILSAFE_OUTBOUND,
  parseFailsafePorts,
} from "../../../src/felix/dataplane/rules/failsafe.js";
import { ALL_INTERFACES, resolveHostEndpoints } from "../../../src/felix/dataplane/rules/host-endpoints.js";
import { renderPolicyTable } from "../../../src/felix/dataplane/rules/ruleset.js";
import { DesiredPolicyState } from "../../../src/felix/dataplane/state.js";
import { gnp, hep, policyBody, rule, tier } from "./fixtures.js";

describe("failsafe ports", () => {
  it("has Calico's defaults", () => {
    const text = (l: typeof DEFAULT_FAILSAFE_INBOUND) => l.map((p) => `${p.protocol}:${p.port}`).join(",");
    expect(text(DEFAULT_FAILSAFE_INBOUND)).toBe(
      "tcp:22,udp:68,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667",
    );
    expect(text(DEFAULT_FAILSAFE_OUTBOUND)).toBe(
      "udp:53,udp:67,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667",
    );
  });

  it("parses the config forms: default, none, proto:port, proto:net:port, bracketed IPv6", () => {
    expect(parseFailsafePorts("P", undefined, DEFAULT_FAILSAFE_INBOUND)).toEqual(DEFAULT_FAILSAFE_INBOUND);
    expect(parseFailsafePorts("P", "none", DEFAULT_FAILSAFE_INBOUND)).toEqual([]);
    expect(parseFailsafePorts("P", "", DEFAULT_FAILSAFE_INBOUND)).toEqual([]);
    expect(parseFailsafePorts("P", "tcp:22, udp:10.0.0.0/8:53,[fd00::/64]:179,80", [])).toEqual([
      { protocol: "tcp", port: 22 },
      { protocol: "udp", port: 53, net: "10.0.0.0/8" },
      { protocol: "tcp", port: 179, net: "fd00::/64" },
      { protocol: "tcp", port: 80 },
    ]);
  });

  it("names the parameter and the entry when one is bad", () => {
    expect(() => parseFailsafePorts("FailsafeInboundHostPorts", "tcp:70000", [])).toThrow(
      'FailsafeInboundHostPorts: invalid entry "tcp:70000"',
    );
    expect(() => parseFailsafePorts("FailsafeInboundHostPorts", "tcp:not-a-net:22", [])).toThrow(
      'invalid net "not-a-net"',
    );
    // Felix refuses such local config before it starts.
    expect(() => parseFelixParams({ FailsafeOutboundHostPorts: "udp:53,bogus" })).toThrow(
      'invalid value for FailsafeOutboundHostPorts: invalid entry "bogus"',
    );
    expect(() => parseFelixParams({ FailsafeInboundHostPorts: "none" })).not.toThrow();
  });
});

describe("host endpoint resolution", () => {
  it("names win over addresses' absence, the smallest id wins, '*' is the catch-all", () => {
    const eps = new Map([
      ["b-eth0", hep("eth0")],
      ["a-eth0", hep("eth0", { profileIds: ["winner"] })],
      ["by-ip", hep("", { expectedIpv4Addrs: ["10.0.0.5"] })],
      ["z-all", hep("*")],
      ["y-all", hep("*", { profileIds: ["all-winner"] })],
    ]);
    const addrs = new Map([
      ["eth0", new Set(["10.0.0.1"])],
      ["eth1", new Set(["10.0.0.5"])],
    ]);
    const out = resolveHostEndpoints(eps, addrs);
    expect([...out.keys()].sort()).toEqual([ALL_INTERFACES, "eth0", "eth1"]);
    expect(out.get("eth0")?.profileIds).toEqual(["winner"]);
    expect(out.get(ALL_INTERFACES)?.profileIds).toEqual(["all-winner"]);
  });
});

describe("host endpoint rendering", () => {
  const cfg = defaultRenderConfig();
  const state = new DesiredPolicyState();
  state.onUpdate({
    type: "ActivePolicyUpdate",
    id: gnp("dnt"),
    policy: { ...policyBody([rule({ protocol: "tcp" })]), untracked: true, applyOnForward: true },
  });
  state.onUpdate({
    type: "HostEndpointUpdate",
    id: { endpointId: "all" },
    endpoint: hep("*", { untrackedTiers: [tier("default", [gnp("dnt")], [], "pass")] }),
  });
  state.onUpdate({
    type: "HostEndpointUpdate",
    id: { endpointId: "eth0" },
    endpoint: hep("eth0", { untrackedTiers: [tier("default", [gnp("dnt")], [], "pass")] }),
  });

  it("keeps iptables names within 28 characters, hashing Calico's long '*' chain names", () => {
    const names = renderFilterChains(state, 4, cfg).map((c) => c.name);
    expect(names).toContain("cali-th-any-interface-at-all");
    expect(names).toContain("cali-fh-any-interface-at-all");
    expect(names.filter((n) => n.startsWith("cali-fhfw-")).sort()).toEqual([
      expect.not.stringContaining("any-interface"),
      "cali-fhfw-eth0",
    ]);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(28);
  });

  it("ignores untracked policy on the '*' endpoint, as Calico does", () => {
    const raw = renderHostTableChains(state, 4, cfg, "raw").map((c) => c.name);
    expect(raw).toContain("cali-fh-eth0");
    expect(raw).not.toContain("cali-fh-any-interface-at-all");
    expect(raw).toContain("cali-pi-gnp/dnt");
    const nft = [...renderPolicyTable(state, 4, cfg).chains.keys()];
    expect(nft).toContain("raw-cali-fh-eth0");
    expect(nft).not.toContain("raw-cali-fh-any-interface-at-all");
  });

  it("renders nothing of host endpoints, and no raw or mangle hooks, without any", () => {
    const empty = new DesiredPolicyState();
    expect(renderHostTableChains(empty, 4, cfg, "mangle")).toEqual([]);
    const nft = [...renderPolicyTable(empty, 4, cfg).chains.keys()];
    expect(
      nft.some((n) => n.startsWith("raw-") || n.startsWith("mangle-") || n.includes("host-endpoint")),
    ).toBe(false);
  });
});
