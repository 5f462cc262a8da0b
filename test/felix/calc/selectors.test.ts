import { describe, expect, it } from "vitest";
import {
  globalNetworkPolicyToModel,
  networkPolicyToModel,
  workloadEndpointToModel,
} from "../../../src/felix/calc/model/resources.js";
import {
  entityRuleSelector,
  globalNetworkPolicySelector,
  networkPolicySelector,
} from "../../../src/felix/calc/model/selectors.js";

describe("policy selector rewriting", () => {
  it("scopes a NetworkPolicy to its namespace", () => {
    expect(networkPolicySelector("default", "app == 'web'")).toBe(
      "(app == 'web') && projectcalico.org/namespace == 'default'",
    );
    expect(networkPolicySelector("default", "")).toBe("projectcalico.org/namespace == 'default'");
  });

  it("appends a pcsa.-prefixed service-account selector", () => {
    expect(networkPolicySelector("ns1", "app == 'web'", "role == 'admin'")).toBe(
      "((app == 'web') && projectcalico.org/namespace == 'ns1') && pcsa.role == \"admin\"",
    );
  });

  it("rewrites a GlobalNetworkPolicy's namespace selector, including all()", () => {
    expect(globalNetworkPolicySelector("", "team == 'a'")).toBe('pcns.team == "a"');
    expect(globalNetworkPolicySelector("all()", "all()")).toBe(
      "(has(projectcalico.org/namespace)) && has(projectcalico.org/namespace)",
    );
    expect(globalNetworkPolicySelector("app == 'x'", "team == 'a'")).toBe(
      "(app == 'x') && pcns.team == \"a\"",
    );
    expect(globalNetworkPolicySelector("", undefined, "all()")).toBe("has(projectcalico.org/serviceaccount)");
    expect(globalNetworkPolicySelector("app == 'x'")).toBe("app == 'x'");
    expect(globalNetworkPolicySelector("")).toBe("");
  });
});

describe("entity rule selector rewriting", () => {
  it("scopes a namespaced rule selector", () => {
    expect(entityRuleSelector({ selector: "role == 'fe'" }, "default")).toBe(
      "(projectcalico.org/namespace == 'default') && (role == 'fe')",
    );
  });

  it("scopes a lone notSelector to the namespace and passes the notSelector through", () => {
    expect(entityRuleSelector({ notSelector: "role == 'fe'" }, "default")).toBe(
      "projectcalico.org/namespace == 'default'",
    );
  });

  it("leaves nets-only sides unscoped", () => {
    expect(entityRuleSelector({ nets: ["10.0.0.0/8"] }, "default")).toBe("");
    expect(entityRuleSelector(undefined, "default")).toBe("");
  });

  it("translates namespaceSelector all() and global()", () => {
    expect(entityRuleSelector({ namespaceSelector: "all()" }, "default")).toBe(
      "has(projectcalico.org/namespace)",
    );
    expect(entityRuleSelector({ namespaceSelector: "global()", selector: "x == 'y'" }, "")).toBe(
      "(!has(projectcalico.org/namespace)) && (x == 'y')",
    );
    expect(entityRuleSelector({ namespaceSelector: "env == 'prod'", selector: "a == 'b'" }, "ns1")).toBe(
      "(pcns.env == \"prod\") && (a == 'b')",
    );
  });

  it("turns service accounts into pcsa. selectors and a names set", () => {
    expect(entityRuleSelector({ serviceAccounts: { names: ["b", "a"] } }, "")).toBe(
      'projectcalico.org/serviceaccount in {"a", "b"}',
    );
    expect(entityRuleSelector({ serviceAccounts: { names: ["a"], selector: "k == 'v'" } }, "")).toBe(
      '(pcsa.k == "v") && (projectcalico.org/serviceaccount in {"a"})',
    );
    expect(
      entityRuleSelector({ serviceAccounts: { selector: "k == 'v'" }, selector: "app == 'x'" }, "ns"),
    ).toBe("(projectcalico.org/namespace == 'ns') && ((pcsa.k == \"v\") && (app == 'x'))");
  });

  it("leaves global policies' rule selectors as written", () => {
    expect(entityRuleSelector({ selector: "app == 'x'" }, "")).toBe("app == 'x'");
  });
});

describe("model conversion", () => {
  const meta = { apiVersion: "projectcalico.org/v3", kind: "NetworkPolicy" };

  it("converts actions, types and rule selectors of a NetworkPolicy", () => {
    const p = networkPolicyToModel({
      ...meta,
      metadata: { name: "p", namespace: "ns" },
      spec: {
        selector: "a == 'b'",
        types: ["Egress"],
        egress: [{ action: "Pass", destination: { selector: "x == 'y'", notSelector: "z == 'w'" } }],
      },
    });
    expect(p.id).toEqual({ kind: "NetworkPolicy", namespace: "ns", name: "p", tier: "default" });
    expect([p.ingress, p.egress]).toEqual([false, true]);
    expect(p.outbound[0]!.action).toBe("next-tier");
    expect(p.outbound[0]!.dst.selector).toBe("(projectcalico.org/namespace == 'ns') && (x == 'y')");
    expect(p.outbound[0]!.dst.notSelector).toBe("z == 'w'");
    expect(p.applyOnForward).toBe(true);
  });

  it("treats a stored policy without types as both directions", () => {
    const p = globalNetworkPolicyToModel({
      ...meta,
      kind: "GlobalNetworkPolicy",
      metadata: { name: "g" },
      spec: {},
    });
    expect([p.ingress, p.egress]).toEqual([true, true]);
    expect(p.selector).toBe("");
  });

  it("rejects a policy whose selector does not parse", () => {
    expect(() =>
      globalNetworkPolicyToModel({
        ...meta,
        kind: "GlobalNetworkPolicy",
        metadata: { name: "g" },
        spec: { selector: "a ==" },
      }),
    ).toThrow(/invalid selector/);
  });

  it("adds namespace, orchestrator and service-account labels and strips pcns./pcsa. ones", () => {
    const w = workloadEndpointToModel({
      apiVersion: "projectcalico.org/v3",
      kind: "WorkloadEndpoint",
      metadata: {
        name: "n-k8s-p-eth0",
        namespace: "ns",
        labels: { app: "x", "pcns.fake": "1", "pcsa.fake": "2" },
      },
      spec: {
        orchestrator: "k8s",
        node: "n",
        pod: "p",
        endpoint: "eth0",
        serviceAccountName: "sa",
        ipNetworks: ["10.0.0.5", "fd00::5/128"],
        interfaceName: "calia",
      },
    })!;
    expect(w.labels).toEqual({
      app: "x",
      "projectcalico.org/namespace": "ns",
      "projectcalico.org/orchestrator": "k8s",
      "projectcalico.org/serviceaccount": "sa",
    });
    expect(w.ipv4Nets).toEqual(["10.0.0.5/32"]);
    expect(w.ipv6Nets).toEqual(["fd00::5/128"]);
    expect(w.id).toEqual({ orchestratorId: "k8s", workloadId: "ns/p", endpointId: "eth0" });
  });

  it("holds back a workload endpoint without addresses", () => {
    expect(
      workloadEndpointToModel({
        apiVersion: "projectcalico.org/v3",
        kind: "WorkloadEndpoint",
        metadata: { name: "w", namespace: "ns" },
        spec: { node: "n" },
      }),
    ).toBeNull();
  });
});
