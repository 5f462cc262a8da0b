import { describe, expect, it } from "vitest";
import type { Rule as V3Rule } from "../../../src/api/index.js";
import { contribution, type IPSetSpec } from "../../../src/felix/calc/ipset-index.js";
import { toModelRule } from "../../../src/felix/calc/model/rules.js";
import { convertRules, namedPortSetId } from "../../../src/felix/calc/rule-convert.js";
import { parseSelector } from "../../../src/selector/index.js";

function convert(rule: V3Rule, ns = "") {
  const sets = new Map<string, IPSetSpec>();
  const [out] = convertRules([toModelRule(rule, ns)], "seed", sets);
  return { rule: out!, sets };
}

const sid = (s: string) => parseSelector(s).uniqueId();
const ALL = parseSelector("all()");

describe("rule scanning", () => {
  it("maps a rule's protocol to the named-port protocol", () => {
    const cases: [string | number | undefined, string][] = [
      [undefined, "any"],
      ["UDP", "udp"],
      [17, "udp"],
      ["SCTP", "sctp"],
      ["TCP", "tcp"],
      ["ICMP", "tcp"],
    ];
    for (const [protocol, expected] of cases) {
      const rule: V3Rule = { action: "Allow", destination: { ports: ["web"] } };
      if (protocol !== undefined) rule.protocol = protocol;
      const { sets } = convert(rule);
      expect([...sets.values()].map((s) => s.namedPort?.protocol)).toEqual([expected]);
    }
  });

  it("uses only the named-port set when a side has named ports and no numeric ones", () => {
    const { rule, sets } = convert(
      { action: "Allow", protocol: "TCP", destination: { selector: "app == 'db'", ports: ["pg"] } },
      "ns",
    );
    const sel = parseSelector("(projectcalico.org/namespace == 'ns') && (app == 'db')");
    expect(rule.dstIpSetIds).toEqual([]);
    expect(rule.dstNamedPortIpSetIds).toEqual([namedPortSetId(sel, "tcp", "pg")]);
    expect(sets.get(rule.dstNamedPortIpSetIds[0]!)!.selector.toString()).toBe(sel.toString());
  });

  it("keeps the selector set beside named ports when numeric ports are present too", () => {
    const { rule } = convert({
      action: "Allow",
      protocol: "UDP",
      source: { selector: "a == 'b'", ports: [53, "dns"] },
    });
    expect(rule.srcIpSetIds).toEqual([sid("a == 'b'")]);
    expect(rule.srcPorts).toEqual([{ first: 53, last: 53 }]);
    expect(rule.srcNamedPortIpSetIds).toEqual([namedPortSetId(parseSelector("a == 'b'"), "udp", "dns")]);
  });

  it("names unrestricted named ports with all() and splits ranges", () => {
    const { rule } = convert({
      action: "Deny",
      protocol: "TCP",
      destination: { ports: ["8000:8080", 22], notPorts: ["admin", 9000] },
    });
    expect(rule.dstPorts).toEqual([
      { first: 8000, last: 8080 },
      { first: 22, last: 22 },
    ]);
    expect(rule.notDstPorts).toEqual([{ first: 9000, last: 9000 }]);
    expect(rule.notDstNamedPortIpSetIds).toEqual([namedPortSetId(ALL, "tcp", "admin")]);
    expect(rule.action).toBe("deny");
  });

  it("folds a negated selector into the positive one, and keeps a lone one negated", () => {
    const both = convert({ action: "Allow", source: { selector: "a == 'x'", notSelector: "b == 'y'" } }).rule;
    expect(both.srcIpSetIds).toEqual([sid("(a == 'x') && (!(b == 'y'))")]);
    expect(both.notSrcIpSetIds).toEqual([]);
    const lone = convert({ action: "Allow", source: { notSelector: "b == 'y'" } }).rule;
    expect(lone.srcIpSetIds).toEqual([]);
    expect(lone.notSrcIpSetIds).toEqual([sid("b == 'y'")]);
  });

  it("gives equivalent selectors one set ID regardless of quoting", () => {
    const a = convert({ action: "Allow", source: { selector: "a=='x'" } }).rule;
    const b = convert({ action: "Allow", source: { selector: 'a == "x"' } }).rule;
    expect(a.srcIpSetIds).toEqual(b.srcIpSetIds);
  });

  it("passes nets, ICMP and protocol through, normalised", () => {
    const { rule } = convert({
      action: "Log",
      protocol: "ICMP",
      icmp: { type: 8, code: 0 },
      notProtocol: "6",
      source: { nets: ["10.0.0.0/8"], notNets: ["10.1.0.0/16"] },
    });
    expect(rule).toMatchObject({
      action: "log",
      protocol: "icmp",
      notProtocol: 6,
      icmp: { type: 8, code: 0 },
      srcNets: ["10.0.0.0/8"],
      notSrcNets: ["10.1.0.0/16"],
    });
    expect(rule.ruleId).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it("derives rule IDs from the seed and every earlier rule", () => {
    const r1 = toModelRule({ action: "Allow" }, "");
    const r2 = toModelRule({ action: "Deny" }, "");
    const ids = (rules: (typeof r1)[], seed = "s") =>
      convertRules(rules, seed, new Map()).map((r) => r.ruleId);
    expect(ids([r1, r2])).toEqual(ids([r1, r2]));
    expect(ids([r1, r2])[1]).not.toBe(ids([r2, r2])[1]);
    expect(ids([r1])[0]).not.toBe(ids([r1], "other")[0]);
  });
});

describe("named-port members", () => {
  const ports = [
    { name: "http", protocol: "tcp", port: 80 },
    { name: "http", protocol: "udp", port: 81 },
    { name: "dns", protocol: "udp", port: 53 },
  ];
  const spec = (protocol: "tcp" | "udp" | "any"): IPSetSpec => ({
    id: "x",
    selector: ALL,
    namedPort: { name: "http", protocol },
  });

  it("crosses addresses with ports of the right name and protocol", () => {
    const c = { nets: ["10.0.0.1/32", "fd00::1/128"], ports };
    expect(contribution(spec("tcp"), c)).toEqual(["10.0.0.1,tcp:80", "fd00::1,tcp:80"]);
    expect(contribution(spec("any"), c)).toEqual([
      "10.0.0.1,tcp:80",
      "fd00::1,tcp:80",
      "10.0.0.1,udp:81",
      "fd00::1,udp:81",
    ]);
  });

  it("contributes plain addresses to selector sets", () => {
    expect(contribution({ id: "s", selector: ALL }, { nets: ["10.0.0.1/32", "::/0"], ports })).toEqual([
      "10.0.0.1/32",
      "::/1",
      "8000::/1",
    ]);
  });
});
