/**
 * The endpoint chains of both renderers, pinned byte for byte: the policy trace and the renderers
 * share one chain plan, and this proves moving the renderers onto that plan changed no rule.
 * `UPDATE_GOLDEN=1` rewrites the file (only ever from renderers known to be right).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PolicyID } from "../../../src/felix/calc/messages.js";
import { renderFilterChains, renderHostTableChains } from "../../../src/felix/dataplane/iptables/render.js";
import type { Family } from "../../../src/felix/dataplane/nft/model.js";
import { defaultRenderConfig, type RenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { resolveHostEndpoints } from "../../../src/felix/dataplane/rules/host-endpoints.js";
import { renderPolicyTable } from "../../../src/felix/dataplane/rules/ruleset.js";
import { DesiredPolicyState } from "../../../src/felix/dataplane/state.js";
import { gnp, hep, policyBody, rule, tier, workload } from "./fixtures.js";

const GOLDEN = join(import.meta.dirname, "golden", "endpoint-chains.json");

function np(ns: string, name: string, tierName = "default"): PolicyID {
  return { kind: "NetworkPolicy", namespace: ns, name, tier: tierName };
}

/**
 * Tiers with deny and pass defaults, a policy and a profile that are not programmed, ingress-only
 * and egress-only tiers, and host endpoints with every kind of tier.
 */
function state(): DesiredPolicyState {
  const s = new DesiredPolicyState();
  s.onUpdate({ type: "IPSetUpdate", id: "s:a", setType: "net", members: ["10.0.0.1/32", "fd00::1/128"] });
  const programmed = [
    gnp("sec-a", "security"),
    gnp("sec-b", "security"),
    np("ns", "web"),
    gnp("plat", "platform"),
  ];
  for (const id of programmed)
    s.onUpdate({
      type: "ActivePolicyUpdate",
      id,
      policy: policyBody(
        [
          rule({ protocol: "tcp", srcIpSetIds: ["s:a"], dstPorts: [{ first: 80, last: 80 }] }),
          rule({ action: "pass" }),
        ],
        [rule({ action: "deny", dstNets: ["10.9.0.0/16"] })],
      ),
    });
  s.onUpdate({
    type: "ActiveProfileUpdate",
    id: { name: "kns.ns" },
    profile: { inboundRules: [rule()], outboundRules: [rule()] },
  });
  const tiers = [
    tier(
      "security",
      [gnp("sec-a", "security"), gnp("sec-b", "security")],
      [gnp("sec-a", "security")],
      "pass",
    ),
    tier("platform", [gnp("plat", "platform"), gnp("gone", "platform")], []),
    tier("default", [np("ns", "web")], [np("ns", "web")]),
  ];
  s.onUpdate({
    type: "WorkloadEndpointUpdate",
    id: { orchestratorId: "k8s", workloadId: "ns/a", endpointId: "eth0" },
    endpoint: workload("calia", ["10.0.0.1/32"], { tiers, profileIds: ["kns.ns", "kns.missing"] }),
  });
  s.onUpdate({
    type: "WorkloadEndpointUpdate",
    id: { orchestratorId: "k8s", workloadId: "ns/b", endpointId: "eth0" },
    endpoint: workload("calib", ["10.0.0.2/32"], { profileIds: ["kns.ns"] }),
  });
  s.onUpdate({
    type: "WorkloadEndpointUpdate",
    id: { orchestratorId: "k8s", workloadId: "ns/c", endpointId: "eth0" },
    endpoint: workload("calic", ["10.0.0.3/32"], { tiers: [tier("default", [], [np("ns", "web")])] }),
  });
  s.onUpdate({
    type: "HostEndpointUpdate",
    id: { endpointId: "h1" },
    endpoint: hep("eth0", {
      tiers,
      profileIds: ["kns.ns", "kns.missing"],
      untrackedTiers: [tier("security", [gnp("sec-a", "security")], [gnp("gone", "security")], "pass")],
      preDnatTiers: [tier("platform", [gnp("plat", "platform")], [], "pass")],
      forwardTiers: [tier("default", [np("ns", "web")], [np("ns", "web")], "pass")],
    }),
  });
  s.onUpdate({ type: "HostEndpointUpdate", id: { endpointId: "h2" }, endpoint: hep("*", { tiers: [] }) });
  return s;
}

const CONFIGS: Record<string, RenderConfig> = {
  default: defaultRenderConfig(),
  reject: defaultRenderConfig({
    denyAction: "reject",
    conntrackInvalidCheck: false,
    allowVxlanFromWorkloads: true,
    allowIpipFromWorkloads: true,
  }),
};

type Rendered = Record<string, string[]>;

function rendered(): Record<string, Rendered> {
  const s = state();
  const heps = resolveHostEndpoints(s.hostEndpoints, new Map());
  const out: Record<string, Rendered> = {};
  for (const [cfgName, cfg] of Object.entries(CONFIGS))
    for (const family of [4, 6] as Family[]) {
      const nft: Rendered = {};
      for (const c of renderPolicyTable(s, family, cfg, heps).chains.values())
        nft[c.name] = c.rules.map((r) => `${r.body}${r.note ? ` # ${r.note}` : ""} #${r.hash}`);
      out[`nft/${cfgName}/${family}`] = nft;
      const ipt: Rendered = {};
      for (const c of renderFilterChains(s, family, cfg, heps))
        ipt[`filter/${c.name}`] = c.rules.map((r) => `${r.body} #${r.hash}`);
      for (const table of ["raw", "mangle"] as const)
        for (const c of renderHostTableChains(s, family, cfg, table, heps))
          ipt[`${table}/${c.name}`] = c.rules.map((r) => `${r.body} #${r.hash}`);
      out[`iptables/${cfgName}/${family}`] = ipt;
    }
  return out;
}

describe("endpoint chain golden", () => {
  it("renders every endpoint, policy and profile chain exactly as pinned", () => {
    const now = rendered();
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(GOLDEN, `${JSON.stringify(now, null, 1)}\n`);
    const pinned = JSON.parse(readFileSync(GOLDEN, "utf8")) as Record<string, Rendered>;
    expect(Object.keys(now).sort()).toEqual(Object.keys(pinned).sort());
    for (const key of Object.keys(pinned)) expect(now[key], key).toEqual(pinned[key]);
  });
});
