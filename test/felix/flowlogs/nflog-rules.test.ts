/**
 * Flow-log NFLOG rules: Calico's prefix encoding (checked against Calico's own test vectors for
 * the hashed forms), and that both renderers add NFLOG to every verdict only when flow logs are on.
 */
import { describe, expect, it } from "vitest";
import { renderFilterChains } from "../../../src/felix/dataplane/index.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { renderEndpointChain } from "../../../src/felix/dataplane/rules/endpoint.js";
import {
  endOfTierPrefix,
  noProfileMatchPrefix,
  parsePrefix,
  rulePrefix,
} from "../../../src/felix/dataplane/rules/nflog.js";
import { renderRuleList } from "../../../src/felix/dataplane/rules/policy.js";
import { gnp, rule, sampleState, tier, workload } from "../dataplane/fixtures.js";

const chars63 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0";

describe("NFLOG prefixes", () => {
  it("encodes action, owner, direction, rule index and id as Calico does", () => {
    expect(rulePrefix("allow", false, "inbound", 0, "np/namespace1/default.policy")).toBe(
      "API0|np/namespace1/default.policy",
    );
    expect(rulePrefix("pass", true, "outbound", 999, "short.profile.name")).toBe("PRE999|short.profile.name");
    expect(endOfTierPrefix("outbound", "tier-1")).toBe("DPE|tier-1");
    expect(noProfileMatchPrefix("inbound")).toBe("DRI");
  });

  it("hashes a prefix of 63 characters or more, keeping its ends", () => {
    const hashed = rulePrefix("deny", false, "inbound", 88, `gnp/${chars63}`);
    expect(hashed).toBe("DPI88|gnp/_12IXaBPahNM7a7dZhI8zg6PStmHsgneYaax8LVSIq_RSTUVWXYZ0");
    expect(rulePrefix("deny", false, "outbound", 88, `gnp/${chars63.slice(0, -1)}`)).toBe(
      `DPE88|gnp/${chars63.slice(0, -1)}`,
    );
    expect(endOfTierPrefix("inbound", "tier-012345678901234567890123456789012345678901234567890123")).toBe(
      "DPI|tier-0_phEfG4Vhbq2xh4TQsePNa2X9YRj5peCVw1FgaNSbd_4567890123",
    );
  });

  it("parses back what it encodes", () => {
    expect(parsePrefix("DPE3|np/prod/db-deny")).toEqual({
      action: "deny",
      direction: "outbound",
      owner: "policy",
      index: 3,
      id: "np/prod/db-deny",
      hashed: false,
    });
    expect(parsePrefix("ARI0|kns.prod")).toMatchObject({ owner: "profile", id: "kns.prod", index: 0 });
    expect(parsePrefix("DPI|default")).toMatchObject({ owner: "end-of-tier", id: "default", index: -1 });
    expect(parsePrefix("DRE")).toMatchObject({ owner: "no-profile-match", direction: "outbound" });
    expect(parsePrefix("calico-packet")).toBeUndefined();
    expect(parsePrefix("XPI0|x")).toBeUndefined();
  });
});

const owner = { description: "d", kind: "np", name: "web", namespace: "prod", tier: "default" };

describe("nftables NFLOG rules", () => {
  const rules = [rule({ action: "deny", protocol: "tcp" }), rule({ action: "allow" })];

  it("adds nothing when flow logs are off", () => {
    const off = renderRuleList(rules, 4, defaultRenderConfig(), { ...owner, direction: "inbound" });
    expect(off.some((r) => r.body.includes("log"))).toBe(false);
  });

  it("logs each verdict to its direction's group, naming policy and rule index", () => {
    const cfg = defaultRenderConfig({ flowLogs: true });
    expect(renderRuleList(rules, 4, cfg, { ...owner, direction: "inbound" }).map((r) => r.body)).toEqual([
      'meta l4proto 6 meta mark set meta mark | 0x00040000 log prefix "DPI0|np/prod/web" group 1 snaplen 48 queue-threshold 32 drop',
      'meta mark set meta mark | 0x00010000 log prefix "API1|np/prod/web" group 1 snaplen 48 queue-threshold 32 return',
    ]);
    expect(renderRuleList(rules, 4, cfg, { ...owner, direction: "outbound" })[1]?.body).toContain(
      '"APE1|np/prod/web" group 2',
    );
  });

  it("logs the end-of-tier and no-profile drops", () => {
    const cfg = defaultRenderConfig({ flowLogs: true });
    const ep = workload("calia", [], { tiers: [tier("default", [gnp("b")])], profileIds: ["kns.x"] });
    const bodies = renderEndpointChain(ep, "inbound", cfg, {
      hasPolicy: () => true,
      hasProfile: () => true,
    }).map((r) => r.body);
    expect(bodies).toContain(
      'meta mark & 0x00020000 == 0x00000000 log prefix "DPI|default" group 1 snaplen 48 queue-threshold 32 drop',
    );
    expect(bodies.at(-1)).toBe('log prefix "DRI" group 1 snaplen 48 queue-threshold 32 drop');
  });
});

describe("iptables NFLOG rules", () => {
  it("adds NFLOG between setting a verdict's mark and acting on it, only with flow logs", () => {
    const state = sampleState();
    const off = renderFilterChains(state, 4, defaultRenderConfig()).flatMap((c) =>
      c.rules.map((r) => r.body),
    );
    expect(off.some((b) => b.includes("NFLOG"))).toBe(false);
    const chains = renderFilterChains(state, 4, defaultRenderConfig({ flowLogs: true }));
    const nflog = chains.flatMap((c) => c.rules.map((r) => r.body)).filter((b) => b.includes("NFLOG"));
    expect(nflog.length).toBeGreaterThan(0);
    for (const b of nflog)
      expect(b).toMatch(/--nflog-group [12] --nflog-prefix "[ADP][PR][IE]\d*(\|[^"]+)?" /);
    const policyChain = chains.find((c) => c.name.startsWith("cali-pi-"));
    const bodies = policyChain?.rules.map((r) => r.body) ?? [];
    const i = bodies.findIndex((b) => b.includes("NFLOG"));
    expect(i).toBeGreaterThan(0);
    expect(bodies[i - 1]).toContain("--set-xmark");
    expect(bodies[i + 1]).toMatch(/-j (RETURN|DROP)$/);
  });
});
