/**
 * Pure IP set logic of the iptables mode: Calico's set names, members per family in the form
 * `ipset save` prints, NAT pool sets, parsing `ipset save`, and minimal create/add/del/destroy plans.
 */
import { describe, expect, it } from "vitest";
import { desiredIPSets, ipsetName, parseIpsetSave, planIpsets } from "../../../src/felix/dataplane/index.js";
import { sampleState } from "./fixtures.js";

const pool = (cidr: string, masquerade: boolean) => ({
  cidr,
  masquerade,
  ipipMode: "Never" as const,
  vxlanMode: "Never" as const,
  disabled: false,
  allowedUses: ["Workload"],
});

describe("ipset names", () => {
  it("prefixes cali40/cali60 and caps at 31 characters", () => {
    expect(ipsetName(4, "s:abc")).toBe("cali40s:abc");
    expect(ipsetName(6, "n:web")).toBe("cali60n:web");
    expect(ipsetName(4, `s:${"x".repeat(40)}`)).toHaveLength(31);
  });
});

describe("desired ipsets", () => {
  const state = sampleState({ dualStack: true });

  it("maps set types and splits members by family", () => {
    const v4 = desiredIPSets(state, 4);
    expect(v4.get("cali40s:src")?.type).toBe("hash:net");
    expect([...(v4.get("cali40s:src")?.members ?? [])].sort()).toEqual(["10.240.0.2", "10.241.0.0/16"]);
    expect(v4.get("cali40n:web")?.type).toBe("hash:ip,port");
    expect([...(v4.get("cali40n:web")?.members ?? [])]).toEqual(["10.240.0.1,tcp:8080"]);
    expect(v4.get("cali40s:hosts")?.type).toBe("hash:ip");
    const v6 = desiredIPSets(state, 6);
    expect([...(v6.get("cali60s:src")?.members ?? [])]).toEqual(["fd00::/64"]);
    expect([...(v6.get("cali60s:hosts")?.members ?? [])]).toEqual(["fd00::1"]);
  });

  it("adds the NAT pool sets only when a pool masquerades", () => {
    expect(desiredIPSets(state, 4).has("cali40masq-ipam-pools")).toBe(false);
    state.onUpdate({ type: "IPAMPoolUpdate", id: "10.65.0.0-16", pool: pool("10.65.0.0/16", true) });
    state.onUpdate({ type: "IPAMPoolUpdate", id: "10.66.0.0-16", pool: pool("10.66.0.0/16", false) });
    const sets = desiredIPSets(state, 4);
    expect([...(sets.get("cali40masq-ipam-pools")?.members ?? [])]).toEqual(["10.65.0.0/16"]);
    expect([...(sets.get("cali40all-ipam-pools")?.members ?? [])].sort()).toEqual([
      "10.65.0.0/16",
      "10.66.0.0/16",
    ]);
  });
});

describe("ipset plans", () => {
  it("parses only owned sets of the family from ipset save", () => {
    const saved = [
      "create cali40s:a hash:net family inet hashsize 1024 maxelem 1048576",
      "add cali40s:a 10.0.0.0/8",
      "create other hash:ip family inet",
      "add other 1.2.3.4",
      "create cali60s:a hash:net family inet6",
    ].join("\n");
    const got = parseIpsetSave(saved, 4);
    expect([...got.keys()]).toEqual(["cali40s:a"]);
    expect([...(got.get("cali40s:a")?.members ?? [])]).toEqual(["10.0.0.0/8"]);
  });

  it("writes only the member delta and destroys unwanted sets in cleanup", () => {
    const observed = new Map([
      ["cali40s:a", { type: "hash:net", members: new Set(["10.0.0.0/8", "11.0.0.0/8"]) }],
      ["cali40s:gone", { type: "hash:net", members: new Set<string>() }],
    ]);
    const desired = new Map([
      ["cali40s:a", { type: "hash:net", members: new Set(["10.0.0.0/8", "12.0.0.0/8"]) }],
      ["cali40s:new", { type: "hash:ip", members: new Set(["1.1.1.1"]) }],
    ]);
    const plan = planIpsets(desired, observed, 4);
    expect(plan.update).toBe(
      [
        "del cali40s:a 11.0.0.0/8",
        "add cali40s:a 12.0.0.0/8",
        "create cali40s:new hash:ip family inet maxelem 1048576",
        "add cali40s:new 1.1.1.1",
        "",
      ].join("\n"),
    );
    expect(plan.cleanup).toBe("destroy cali40s:gone\n");
    expect(planIpsets(desired, desired, 4)).toEqual({ update: "", cleanup: "" });
  });

  it("recreates a set whose type differs", () => {
    const plan = planIpsets(
      new Map([["cali40s:a", { type: "hash:net", members: new Set<string>() }]]),
      new Map([["cali40s:a", { type: "hash:ip", members: new Set<string>() }]]),
      4,
    );
    expect(plan.update).toBe("destroy cali40s:a\ncreate cali40s:a hash:net family inet maxelem 1048576\n");
  });
});
