/**
 * A policy change rewrites only the chains it should, in a real kernel: in nftables mode every
 * other chain keeps its rules' kernel handles (a rewritten rule gets a new one), and in iptables
 * mode the restore script names only those chains. Three workloads; policy A applies to the first
 * two, policy B to the third.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PolicyID, policyIdKey, type ToDataplane } from "../../../src/felix/calc/messages.js";
import { localRunner } from "../../../src/felix/dataplane/exec.js";
import { type PolicyBackend, PolicyDataplane } from "../../../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { groupChainBase, groupId } from "../../../src/felix/dataplane/rules/groups.js";
import type { Direction } from "../../../src/felix/dataplane/rules/names.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";
import { gnp, policyBody, rule, tier, workload } from "./fixtures.js";

const A = gnp("pol-a");
const B = gnp("pol-b");
const C = gnp("pol-c");

/** B and C share a selector, so an endpoint with both jumps to their shared group chain. */
function groupBC(dir: Direction): string {
  return groupChainBase({ id: groupId("all()", dir, [policyIdKey(B), policyIdKey(C)]), dir, policies: [] });
}

function policy(id: PolicyID, port: number): ToDataplane {
  return {
    type: "ActivePolicyUpdate",
    id,
    policy: policyBody([rule({ protocol: "tcp", dstPorts: [{ first: port, last: port }] })], [rule()]),
  };
}

function endpoint(i: number, policies: PolicyID[]): ToDataplane {
  return {
    type: "WorkloadEndpointUpdate",
    id: { orchestratorId: "k8s", workloadId: `ns/w${i}`, endpointId: "eth0" },
    endpoint: workload(`caliinc${i}`, [`10.66.0.${i}/32`], {
      profileIds: ["kns.ns"],
      tiers: [tier("default", policies, policies)],
    }),
  };
}

function baseState(): ToDataplane[] {
  return [
    { type: "ActiveProfileUpdate", id: { name: "kns.ns" }, profile: { inboundRules: [], outboundRules: [] } },
    policy(A, 80),
    policy(B, 443),
    endpoint(1, [A]),
    endpoint(2, [A]),
    endpoint(3, [B]),
  ];
}

/** Chain → its rules' kernel handles, from `nft -a list table`. */
async function handles(ns: Netns): Promise<Map<string, string[]>> {
  const out = (await ns.execOk(["nft", "-a", "list", "table", "ip", "calico"])).stdout;
  const chains = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of out.split("\n")) {
    const chain = /^\s*chain (\S+) \{/.exec(line);
    if (chain) {
      current = [];
      chains.set(chain[1] as string, current);
      continue;
    }
    const handle = /# handle (\d+)$/.exec(line);
    if (handle && current && !/^\s*(type|policy) /.test(line)) current.push(handle[1] as string);
  }
  return chains;
}

function changed(before: Map<string, string[]>, after: Map<string, string[]>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((n) => before.get(n)?.join(",") !== after.get(n)?.join(",")).sort();
}

let ns: Netns;

beforeAll(async () => {
  ns = await createNetns("cts-inc");
});

afterAll(async () => {
  await removeAll();
});

async function programmed(backend: PolicyBackend): Promise<PolicyDataplane> {
  const dp = new PolicyDataplane(
    localRunner(["nsenter", `--net=${ns.path}`]),
    defaultRenderConfig(),
    backend,
  );
  for (const m of baseState()) dp.onUpdate(m);
  await dp.apply();
  return dp;
}

describe("incremental programming, nftables", () => {
  let dp: PolicyDataplane;
  beforeAll(async () => {
    dp = await programmed({ kind: "nftables" });
  });
  afterAll(() => dp.close());

  it("rewrites only the changed policy's chain when its rules change", async () => {
    const before = await handles(ns);
    expect(before.size).toBeGreaterThan(15);
    dp.onUpdate(policy(A, 8080));
    const result = await dp.apply();
    const after = await handles(ns);
    expect(changed(before, after)).toEqual(["filter-cali-pi-gnp/pol-a"]);
    expect(result.nft?.[4].rebuilt).toBe(false);
    expect(result.nft?.[4].script.match(/^flush chain .*/gm)).toEqual([
      "flush chain ip calico filter-cali-pi-gnp/pol-a",
    ]);
    expect(
      (await ns.execOk(["nft", "list", "chain", "ip", "calico", "filter-cali-pi-gnp/pol-a"])).stdout,
    ).toContain("dport 8080");
  });

  it("adds a policy to one endpoint by writing its chains, that endpoint's two chains and its new policy groups only", async () => {
    const before = await handles(ns);
    dp.onUpdate(policy(C, 22));
    dp.onUpdate(endpoint(3, [B, C]));
    await dp.apply();
    const after = await handles(ns);
    expect(changed(before, after)).toEqual(
      [
        "filter-cali-fw-caliinc3",
        `filter-${groupBC("inbound")}`,
        `filter-${groupBC("outbound")}`,
        "filter-cali-pi-gnp/pol-c",
        "filter-cali-po-gnp/pol-c",
        "filter-cali-tw-caliinc3",
      ].sort(),
    );
  });

  it("changes nothing when an update leaves the rules as they were", async () => {
    const before = await handles(ns);
    dp.onUpdate(policy(B, 443));
    const result = await dp.apply();
    expect(result.nft?.[4].script).toBe("");
    expect(changed(before, await handles(ns))).toEqual([]);
  });
});

describe("incremental programming, iptables", () => {
  let dp: PolicyDataplane;
  beforeAll(async () => {
    dp = await programmed({ kind: "iptables", flavour: "nft" });
  });
  // Ends the long-lived iptables-restore processes this dataplane started.
  afterAll(() => dp.close());

  it("restores only the changed policy's chain", async () => {
    dp.onUpdate(policy(A, 8080));
    const result = await dp.apply();
    const script = result.iptables?.[4] ?? "";
    expect(script.match(/^:\S+/gm)).toEqual([":cali-pi-gnp/pol-a"]);
    expect(script).not.toMatch(/^-A cali-(tw|fw)-/m);
    const saved = (await ns.execOk(["iptables-save", "-t", "filter"])).stdout;
    expect(saved).toMatch(/-A cali-pi-gnp\/pol-a .*--dports 8080/);
  });

  it("restores only the endpoint's chains, its new policy groups and the new policy's when a policy is added to it", async () => {
    dp.onUpdate(policy(C, 22));
    dp.onUpdate(endpoint(3, [B, C]));
    const result = await dp.apply();
    expect((result.iptables?.[4] ?? "").match(/^:\S+/gm)?.sort()).toEqual(
      [
        ":cali-fw-caliinc3",
        `:${groupBC("inbound")}`,
        `:${groupBC("outbound")}`,
        ":cali-pi-gnp/pol-c",
        ":cali-po-gnp/pol-c",
        ":cali-tw-caliinc3",
      ].sort(),
    );
  });
});
