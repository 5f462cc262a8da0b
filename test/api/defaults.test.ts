import { describe, expect, it } from "vitest";
import { applyDefaults, canonicalize, type Resource, validate } from "../../src/api/index.js";
import { resource } from "./samples.js";

const spec = (r: { spec?: unknown }) => r.spec as Record<string, unknown>;
const labels = (r: { metadata: { labels?: Record<string, string> } }) => r.metadata.labels;

describe("applyDefaults", () => {
  it("fills the IPPool defaults Calico persists", () => {
    const pool = applyDefaults(resource("IPPool", "p", { cidr: "10.0.0.0/24" }));
    expect(spec(pool)).toEqual({
      cidr: "10.0.0.0/24",
      blockSize: 26,
      nodeSelector: "all()",
      ipipMode: "Never",
      vxlanMode: "Never",
      allowedUses: ["Workload", "Tunnel"],
      assignmentMode: "Automatic",
    });
  });

  it("uses /122 blocks for IPv6 pools and normalises the CIDR text", () => {
    const pool = applyDefaults(resource("IPPool", "p6", { cidr: "fd00:0:0::/48" }));
    expect(spec(pool).blockSize).toBe(122);
    expect(spec(pool).cidr).toBe("fd00::/48");
  });

  it("keeps explicit IPPool values, including empty strings being replaced", () => {
    const pool = applyDefaults(
      resource("IPPool", "p", {
        cidr: "10.0.0.0/16",
        blockSize: 24,
        ipipMode: "",
        allowedUses: ["LoadBalancer"],
      }),
    );
    expect(spec(pool)).toMatchObject({ blockSize: 24, ipipMode: "Never", allowedUses: ["LoadBalancer"] });
  });

  it("leaves a CIDR with host bits set as written so validation rejects it", () => {
    const pool = applyDefaults(resource("IPPool", "p", { cidr: "10.0.0.1/24" }));
    expect(spec(pool).cidr).toBe("10.0.0.1/24");
    expect(validate(pool)).toEqual([
      { field: "spec.cidr", value: "10.0.0.1/24", reason: "IPPool CIDR is not strictly masked" },
    ]);
  });

  it("infers policy types from the rules present", () => {
    const types = (s: Record<string, unknown>) =>
      spec(applyDefaults(resource("GlobalNetworkPolicy", "p", s))).types;
    expect(types({})).toEqual(["Ingress"]);
    expect(types({ ingress: [{ action: "Allow" }] })).toEqual(["Ingress"]);
    expect(types({ egress: [{ action: "Allow" }] })).toEqual(["Egress"]);
    expect(types({ ingress: [{ action: "Allow" }], egress: [{ action: "Allow" }] })).toEqual([
      "Ingress",
      "Egress",
    ]);
    expect(types({ types: ["Egress"], ingress: [{ action: "Allow" }] })).toEqual(["Egress"]);
  });

  it("defaults the tier and labels policies with it", () => {
    const np = applyDefaults(resource("NetworkPolicy", "a", {}, { namespace: "ns", labels: { x: "y" } }));
    expect(spec(np).tier).toBe("default");
    expect(labels(np)).toEqual({ x: "y", "projectcalico.org/tier": "default" });
    const tiered = applyDefaults(resource("GlobalNetworkPolicy", "sec.a", { tier: "sec" }));
    expect(labels(tiered)).toEqual({ "projectcalico.org/tier": "sec" });
  });

  it("defaults staged policies to stagedAction Set and drops types for a staged deletion", () => {
    const set = applyDefaults(resource("StagedNetworkPolicy", "a", {}, { namespace: "ns" }));
    expect(spec(set)).toMatchObject({ stagedAction: "Set", types: ["Ingress"], tier: "default" });
    const del = applyDefaults(
      resource("StagedGlobalNetworkPolicy", "a", { stagedAction: "Delete", types: ["Ingress"] }),
    );
    expect(spec(del)).toEqual({ stagedAction: "Delete", tier: "default" });
    expect(validate(del)).toEqual([]);
    const sknp = applyDefaults(resource("StagedKubernetesNetworkPolicy", "a", {}, { namespace: "ns" }));
    expect(spec(sknp).stagedAction).toBe("Set");
  });

  it("gives tiers order 1000000 and default action Deny", () => {
    expect(spec(applyDefaults(resource("Tier", "t", {})))).toEqual({ order: 1000000, defaultAction: "Deny" });
    expect(spec(applyDefaults(resource("Tier", "t", { order: 0 })))).toEqual({
      order: 0,
      defaultAction: "Deny",
    });
  });

  it("fills BGPConfiguration CRD defaults", () => {
    expect(spec(applyDefaults(resource("BGPConfiguration", "default", {})))).toEqual({
      logSeverityScreen: "Info",
      serviceLoadBalancerAggregation: "Enabled",
    });
  });

  it("fills FelixConfiguration client and CRD defaults", () => {
    const fc = applyDefaults(resource("FelixConfiguration", "default", { reportingInterval: "0s" }));
    expect(spec(fc)).toEqual({
      reportingInterval: "0s",
      floatingIPs: "Disabled",
      bpfConnectTimeLoadBalancing: "TCP",
      bpfHostNetworkedNATWithoutCTLB: "Enabled",
      nftablesMode: "Auto",
      nftablesFlowTableOffload: "Disabled",
    });
    expect(canonicalize(fc).spec).toHaveProperty("bpfLogLevel", "");
  });

  it("lets the deprecated bpfConnectTimeLoadBalancingEnabled decide both newer fields", () => {
    const on = applyDefaults(
      resource("FelixConfiguration", "default", { bpfConnectTimeLoadBalancingEnabled: true }),
    );
    expect(spec(on)).toMatchObject({
      bpfConnectTimeLoadBalancing: "Enabled",
      bpfHostNetworkedNATWithoutCTLB: "Disabled",
    });
    const off = applyDefaults(
      resource("FelixConfiguration", "default", { bpfConnectTimeLoadBalancingEnabled: false }),
    );
    expect(spec(off)).toMatchObject({ bpfConnectTimeLoadBalancing: "Disabled" });
  });

  it("fills IPAMConfiguration defaults without overriding explicit false", () => {
    expect(spec(applyDefaults(resource("IPAMConfiguration", "default", {})))).toEqual({
      strictAffinity: false,
      autoAllocateBlocks: true,
    });
    expect(
      spec(applyDefaults(resource("IPAMConfiguration", "default", { autoAllocateBlocks: false }))),
    ).toMatchObject({
      autoAllocateBlocks: false,
    });
  });

  it("fills KubeControllersConfiguration defaults", () => {
    const kcc = applyDefaults(
      resource("KubeControllersConfiguration", "default", {
        controllers: { node: {}, loadBalancer: {}, migration: {} },
      }),
    );
    expect(spec(kcc)).toEqual({
      prometheusMetricsPort: 9094,
      healthChecks: "Enabled",
      controllers: {
        node: { leakGracePeriod: "15m0s" },
        loadBalancer: { assignIPs: "AllServices" },
        migration: { policyNameMigrator: "Enabled" },
      },
    });
  });

  it("names a WorkloadEndpoint from its spec and adds the namespace and orchestrator labels", () => {
    const wep = applyDefaults<Resource>({
      apiVersion: "projectcalico.org/v3",
      kind: "WorkloadEndpoint",
      metadata: { namespace: "prod" },
      spec: { orchestrator: "k8s", node: "node-1", pod: "web-0", endpoint: "eth0", interfaceName: "cali1" },
    });
    expect(wep.metadata.name).toBe("node--1-k8s-web--0-eth0");
    expect(labels(wep)).toEqual({
      "projectcalico.org/namespace": "prod",
      "projectcalico.org/orchestrator": "k8s",
    });
  });

  it("does not modify its input and never throws on garbage", () => {
    const input = resource("IPPool", "p", { cidr: "10.0.0.0/24" });
    const before = JSON.stringify(input);
    applyDefaults(input);
    expect(JSON.stringify(input)).toBe(before);
    for (const junk of [
      null,
      3,
      "x",
      [],
      { kind: "IPPool", spec: 7 },
      { kind: "IPPool", spec: { cidr: 5 } },
    ]) {
      expect(() => applyDefaults(junk as never)).not.toThrow();
    }
  });
});
