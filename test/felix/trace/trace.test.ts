import { describe, expect, it } from "vitest";
import type { Rule } from "../../../src/api/index.js";
import type { CalcUpdate } from "../../../src/felix/calc/index.js";
import {
  formatTrace,
  PolicyTracer,
  TraceInputError,
  type TraceResult,
} from "../../../src/felix/trace/index.js";
import { gnp, hep, np, profile, tier, wep } from "../calc/fixtures.js";

const allowAll = profile("kns.app", { ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }] });

/** web (host1) and db (host2) in namespace app; db serves tcp/5432 named `pg`. */
function cluster(...extra: CalcUpdate[]): CalcUpdate[] {
  return [
    allowAll,
    tier("default"),
    wep("web", {
      ns: "app",
      node: "host1",
      ips: ["10.65.0.1/32"],
      labels: { role: "web" },
      profiles: ["kns.app"],
    }),
    wep("db", {
      ns: "app",
      node: "host2",
      ips: ["10.65.1.1/32"],
      labels: { role: "db" },
      profiles: ["kns.app"],
      ports: [{ name: "pg", protocol: "TCP", port: 5432 }],
    }),
    ...extra,
  ];
}

function trace(updates: CalcUpdate[], port: number, over: Record<string, unknown> = {}): TraceResult {
  return new PolicyTracer(updates).trace({ source: "app/web", destination: "app/db", port, ...over });
}

const ingressOf = (t: TraceResult) => t.directions[1]!;
const egressOf = (t: TraceResult) => t.directions[0]!;

describe("policy trace", () => {
  it("falls through to the namespace profile when no policy selects either pod", () => {
    const t = trace(cluster(), 5432);
    expect(t.verdict).toBe("allow");
    expect(t.packet).toMatchObject({
      family: 4,
      protocol: "tcp",
      src: "10.65.0.1",
      dst: "10.65.1.1",
      dstPort: 5432,
    });
    expect(egressOf(t).chain).toBe("filter-cali-fw-caliweb");
    expect(ingressOf(t).chain).toBe("filter-cali-tw-calidb");
    expect(ingressOf(t).steps).toEqual([
      expect.objectContaining({
        kind: "profile",
        name: "kns.app",
        outcome: "allow",
        rule: expect.objectContaining({ index: 0, text: "Allow" }),
      }),
    ]);
  });

  it("names the allowing rule, and the end of tier when nothing matches", () => {
    const rules: Rule[] = [
      { action: "Allow", protocol: "TCP", source: { selector: "role == 'nope'" } },
      {
        action: "Allow",
        protocol: "TCP",
        source: { selector: "role == 'web'" },
        destination: { ports: ["pg"] },
      },
    ];
    const updates = cluster(
      np("db-in", "app", { selector: "role == 'db'", ingress: rules, types: ["Ingress"] }),
    );
    const ok = trace(updates, 5432);
    expect(ok.verdict).toBe("allow");
    expect(ingressOf(ok).steps[0]).toMatchObject({
      kind: "policy",
      tier: "default",
      name: "np/app/db-in",
      outcome: "allow",
      rule: { index: 1, action: "allow" },
    });
    expect(ingressOf(ok).steps[0]!.rule!.text).toContain("destination.ports=[pg]");
    // The named port means 5432 only: 80 is not allowed, and the tier drops it.
    const no = trace(updates, 80);
    expect(no.verdict).toBe("deny");
    expect(ingressOf(no).steps.map((s) => [s.kind, s.outcome])).toEqual([
      ["policy", "no-match"],
      ["end-of-tier", "deny"],
    ]);
    expect(formatTrace(no)).toContain("Verdict: DENY — ingress of app/db: end of tier default");
  });

  it("follows Pass to the next tier, skipping the rest of the tier, and honours a Pass default", () => {
    const updates = cluster(
      tier("security", 100),
      tier("platform", 200, "Pass"),
      gnp("sec-pass", {
        tier: "security",
        order: 1,
        ingress: [{ action: "Pass", protocol: "TCP" }],
        types: ["Ingress"],
      }),
      gnp("sec-deny", { tier: "security", order: 2, ingress: [{ action: "Deny" }], types: ["Ingress"] }),
      gnp("plat-nothing", {
        tier: "platform",
        ingress: [{ action: "Deny", source: { nets: ["192.168.0.0/16"] } }],
        types: ["Ingress"],
      }),
    );
    const tcp = trace(updates, 5432);
    expect(tcp.verdict).toBe("allow");
    expect(ingressOf(tcp).steps.map((s) => `${s.kind}:${s.name}:${s.outcome}`)).toEqual([
      "policy:gnp/sec-pass:pass",
      "policy:gnp/sec-deny:skipped",
      "policy:gnp/plat-nothing:no-match",
      "end-of-tier:end of tier platform:pass",
      "profile:kns.app:allow",
    ]);
    // UDP is not passed: the security tier's deny decides.
    const udp = trace(updates, 5432, { protocol: "udp" });
    expect(udp.verdict).toBe("deny");
    expect(ingressOf(udp).reason).toBe("gnp/sec-deny rule 0 denies");
  });

  it("evaluates negations: notSelector, notNets, notPorts, notProtocol", () => {
    const updates = cluster(
      gnp("egress", {
        selector: "role == 'web'",
        types: ["Egress"],
        egress: [
          { action: "Deny", protocol: "TCP", destination: { notPorts: [5432, "8000:9000"] } },
          { action: "Deny", notProtocol: "TCP" },
          { action: "Allow", destination: { notSelector: "role == 'web'", notNets: ["10.65.0.0/24"] } },
        ],
      }),
    );
    expect(trace(updates, 5432).verdict).toBe("allow");
    expect(egressOf(trace(updates, 5432)).steps[0]!.rule!.index).toBe(2);
    expect(egressOf(trace(updates, 80)).steps[0]).toMatchObject({ outcome: "deny", rule: { index: 0 } });
    expect(egressOf(trace(updates, 8080)).steps[0]).toMatchObject({ outcome: "allow", rule: { index: 2 } });
    expect(egressOf(trace(updates, 5432, { protocol: "udp" })).steps[0]).toMatchObject({
      rule: { index: 1 },
    });
    // To a pod inside the excluded net, rule 2 does not match and the tier drops.
    const toWeb2 = new PolicyTracer([
      ...updates,
      wep("web2", { ns: "app", node: "host2", ips: ["10.65.0.9/32"], labels: {}, profiles: ["kns.app"] }),
    ]).trace({ source: "app/web", destination: "10.65.0.9", port: 5432 });
    expect(toWeb2.destination).toMatchObject({ kind: "workload", name: "app/web2" });
    expect(egressOf(toWeb2).verdict).toBe("deny");
  });

  it("matches ICMP type and code", () => {
    const updates = cluster(
      gnp("icmp", {
        selector: "role == 'db'",
        types: ["Ingress"],
        ingress: [{ action: "Allow", protocol: "ICMP", icmp: { type: 8, code: 0 } }],
      }),
    );
    const tracer = new PolicyTracer(updates);
    expect(tracer.trace({ source: "app/web", destination: "app/db", protocol: "icmp" }).verdict).toBe(
      "allow",
    );
    expect(
      tracer.trace({ source: "app/web", destination: "app/db", protocol: "icmp", icmpType: 13 }).verdict,
    ).toBe("deny");
  });

  it("reports log rules on the way and keeps going", () => {
    const updates = cluster(
      np("log", "app", {
        selector: "role == 'db'",
        types: ["Ingress"],
        ingress: [{ action: "Log" }, { action: "Allow" }],
      }),
    );
    const step = ingressOf(trace(updates, 1)).steps[0]!;
    expect(step.logged?.map((l) => l.index)).toEqual([0]);
    expect(step.rule?.index).toBe(1);
  });

  it("traces host endpoints: failsafe ports stay open, the rest meets policy and profiles", () => {
    const updates = cluster(
      hep("host2-eth0", { node: "host2", iface: "eth0", ips: ["172.18.0.2"], labels: { host: "yes" } }),
      gnp("ssh-only", {
        selector: "host == 'yes'",
        types: ["Ingress"],
        ingress: [{ action: "Allow", protocol: "TCP", destination: { ports: [8080] } }],
      }),
    );
    const tracer = new PolicyTracer(updates);
    const ssh = tracer.trace({ source: "app/web", destination: "hostendpoint/host2-eth0", port: 22 });
    expect(ssh.verdict).toBe("allow");
    expect(ingressOf(ssh).steps[0]).toMatchObject({ kind: "failsafe", name: "tcp:22" });
    expect(ingressOf(ssh).chain).toBe("filter-cali-fh-eth0");
    expect(tracer.trace({ source: "app/web", destination: "172.18.0.2", port: 8080 }).verdict).toBe("allow");
    const other = tracer.trace({ source: "app/web", destination: "hostendpoint/host2-eth0", port: 9090 });
    expect(other.verdict).toBe("deny");
    expect(ingressOf(other).reason).toContain("end of tier default");
    // The host to a pod on another node leaves through the host endpoint: no egress policy, dropped.
    const out = tracer.trace({ source: "hostendpoint/host2-eth0", destination: "app/web", port: 80 });
    expect(egressOf(out)).toMatchObject({ policed: true, verdict: "deny" });
  });

  it("polices only the Calico side of a plain address", () => {
    const updates = cluster(
      np("db-in", "app", {
        selector: "role == 'db'",
        types: ["Ingress"],
        ingress: [{ action: "Allow", source: { nets: ["192.0.2.0/24"] } }],
      }),
    );
    const t = new PolicyTracer(updates).trace({ source: "192.0.2.7", destination: "app/db", port: 5432 });
    expect(egressOf(t)).toMatchObject({ policed: false, verdict: "allow" });
    expect(t.verdict).toBe("allow");
  });

  it("fails closed on a profile that does not exist", () => {
    const updates = cluster(
      wep("lost", { ns: "app", node: "host2", ips: ["10.65.1.2/32"], profiles: ["kns.gone"] }),
    );
    const t = new PolicyTracer(updates).trace({ source: "app/web", destination: "app/lost", port: 1 });
    expect(ingressOf(t).steps[0]).toMatchObject({ kind: "profile", name: "kns.gone", outcome: "deny" });
  });

  it("rejects bad input with a clear message", () => {
    const tracer = new PolicyTracer(cluster());
    const bad = (req: Record<string, unknown>, message: string | RegExp) =>
      expect(() => tracer.trace({ source: "app/web", destination: "app/db", port: 80, ...req })).toThrow(
        message,
      );
    bad({ source: "app/nope" }, "no workload endpoint for pod 'app/nope'");
    bad({ destination: "hostendpoint/none" }, "no host endpoint named 'none'");
    bad({ destination: "what" }, "'what' is not NAMESPACE/POD, hostendpoint/NAME or an IP address");
    bad({ port: 70000 }, "port '70000' is out of range");
    bad({ port: 0 }, "port '0' is out of range");
    bad({ port: "http" }, "port 'http' is out of range");
    bad({ protocol: "gre" }, "unknown protocol 'gre'");
    bad({ protocol: "icmp" }, "protocol icmp has no ports");
    bad({ port: undefined }, "--port is required for tcp");
    bad({ sourcePort: 65536 }, "source port '65536' is out of range");
    expect(() => tracer.trace({ source: "x/y", destination: "app/db", port: 1 })).toThrow(TraceInputError);
  });
});
