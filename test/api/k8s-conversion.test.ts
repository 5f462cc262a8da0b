import { describe, expect, it } from "vitest";
import {
  convertKubernetesNetworkPolicy,
  convertKubernetesNetworkPolicyLenient,
  KubernetesPolicyConversionError,
  validate,
} from "../../src/api/index.js";

function k8s(spec: Record<string, unknown>, name = "web") {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: "prod" },
    spec,
  };
}

const POD = "projectcalico.org/orchestrator == 'k8s'";
const rulesOf = (spec: Record<string, unknown>, dir: "ingress" | "egress" = "ingress") =>
  (convertKubernetesNetworkPolicy(k8s(spec)).spec as Record<string, unknown>)[dir];

describe("convertKubernetesNetworkPolicy", () => {
  it("converts a worked example (policy types, ports, selectors) exactly", () => {
    const policy = convertKubernetesNetworkPolicy(
      k8s({
        podSelector: { matchLabels: { app: "web" } },
        policyTypes: ["Ingress", "Egress"],
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { team: "a" } } },
              { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } },
            ],
            ports: [{ port: 80 }, { protocol: "UDP", port: 53 }, { port: 81 }],
          },
        ],
        egress: [],
      }),
    );
    const nsPeer = { selector: POD, namespaceSelector: "team == 'a'" };
    const ipPeer = { nets: ["10.0.0.0/8"], notNets: ["10.1.0.0/16"] };
    expect(policy).toEqual({
      kind: "NetworkPolicy",
      apiVersion: "projectcalico.org/v3",
      metadata: { name: "knp.default.web", namespace: "prod" },
      spec: {
        tier: "default",
        order: 1000,
        ingress: [
          { action: "Allow", protocol: "TCP", source: nsPeer, destination: { ports: ["80:81"] } },
          { action: "Allow", protocol: "TCP", source: ipPeer, destination: { ports: ["80:81"] } },
          { action: "Allow", protocol: "UDP", source: nsPeer, destination: { ports: [53] } },
          { action: "Allow", protocol: "UDP", source: ipPeer, destination: { ports: [53] } },
        ],
        selector: "projectcalico.org/orchestrator == 'k8s' && app == 'web'",
        types: ["Ingress", "Egress"],
      },
    });
    expect(validate(policy)).toEqual([]);
  });

  it("translates label selectors in both forms", () => {
    const spec = (podSelector: unknown) =>
      convertKubernetesNetworkPolicy(k8s({ podSelector })).spec?.selector;
    expect(spec({})).toBe(POD);
    expect(spec(undefined)).toBe(POD);
    expect(
      spec({
        matchLabels: { z: "1", a: "2" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["fe", "be"] },
          { key: "env", operator: "NotIn", values: ["dev"] },
          { key: "x", operator: "Exists" },
          { key: "y", operator: "DoesNotExist" },
        ],
      }),
    ).toBe(
      `${POD} && a == '2' && z == '1' && tier in { 'fe', 'be' } && env not in { 'dev' } && has(x) && ! has(y)`,
    );
  });

  it("distinguishes {} from a missing peer selector", () => {
    const ingress = (from: unknown[]) => rulesOf({ ingress: [{ from }] });
    expect(ingress([{ podSelector: {} }])).toEqual([{ action: "Allow", source: { selector: POD } }]);
    expect(ingress([{ namespaceSelector: {} }])).toEqual([
      { action: "Allow", source: { selector: POD, namespaceSelector: "all()" } },
    ]);
    expect(
      ingress([{ podSelector: { matchLabels: { a: "b" } }, namespaceSelector: { matchLabels: { c: "d" } } }]),
    ).toEqual([
      { action: "Allow", source: { selector: `${POD} && a == 'b'`, namespaceSelector: "c == 'd'" } },
    ]);
  });

  it("allows everything for a rule with neither peers nor ports", () => {
    expect(rulesOf({ ingress: [{}] })).toEqual([{ action: "Allow" }]);
    expect(rulesOf({ ingress: [] })).toBeUndefined();
  });

  it("puts egress peers and ports in the destination", () => {
    expect(
      rulesOf({ egress: [{ to: [{ ipBlock: { cidr: "10.1.2.3/8" } }], ports: [{ port: 443 }] }] }, "egress"),
    ).toEqual([{ action: "Allow", protocol: "TCP", destination: { nets: ["10.0.0.0/8"], ports: [443] } }]);
  });

  it("coalesces ports, keeps named ports first and sorts protocols", () => {
    const ports = [
      { protocol: "UDP", port: 9 },
      { port: 82 },
      { port: "http" },
      { port: 80 },
      { port: 90 },
      { port: 81 },
      { protocol: "SCTP", port: 1 },
    ];
    expect(rulesOf({ ingress: [{ ports }] })).toEqual([
      { action: "Allow", protocol: "SCTP", destination: { ports: [1] } },
      { action: "Allow", protocol: "TCP", destination: { ports: ["http", "80:82", 90] } },
      { action: "Allow", protocol: "UDP", destination: { ports: [9] } },
    ]);
  });

  it("expands endPort into ranges and merges overlaps", () => {
    expect(
      rulesOf({
        ingress: [{ ports: [{ port: 1000, endPort: 2000 }, { port: 1500, endPort: 2500 }, { port: 3000 }] }],
      }),
    ).toEqual([{ action: "Allow", protocol: "TCP", destination: { ports: ["1000:2500", 3000] } }]);
  });

  it("treats a protocol-only entry as all ports of that protocol", () => {
    expect(
      rulesOf({
        ingress: [
          { ports: [{ port: 80 }, { protocol: "TCP" }, { port: 81 }, { protocol: "UDP", port: 53 }] },
        ],
      }),
    ).toEqual([
      { action: "Allow", protocol: "TCP" },
      { action: "Allow", protocol: "UDP", destination: { ports: [53] } },
    ]);
  });

  it("defaults policyTypes as the Kubernetes API server would", () => {
    const types = (spec: Record<string, unknown>) => convertKubernetesNetworkPolicy(k8s(spec)).spec?.types;
    expect(types({})).toEqual(["Ingress"]);
    expect(types({ egress: [{}] })).toEqual(["Ingress", "Egress"]);
    expect(types({ egress: [] })).toEqual(["Ingress"]);
    expect(types({ policyTypes: ["Egress"] })).toEqual(["Egress"]);
    const p = convertKubernetesNetworkPolicy(k8s({ policyTypes: ["Ingress"], egress: [{}] }));
    expect(p.spec).toMatchObject({ types: ["Ingress"], egress: [{ action: "Allow" }] });
  });

  it("uses the default namespace when none is given", () => {
    const p = convertKubernetesNetworkPolicy({ metadata: { name: "x" }, spec: {} });
    expect(p.metadata).toEqual({ name: "knp.default.x", namespace: "default" });
  });

  it("throws a field-naming error for input that cannot be converted", () => {
    expect(() => convertKubernetesNetworkPolicy({ kind: "Pod", metadata: { name: "x" } })).toThrow(
      KubernetesPolicyConversionError,
    );
    expect(() => convertKubernetesNetworkPolicy(null)).toThrow("not a Kubernetes NetworkPolicy object");
    expect(() => convertKubernetesNetworkPolicy({ metadata: {} })).toThrow("metadata.name");
    try {
      convertKubernetesNetworkPolicy(k8s({ ingress: [{}, { ports: [{ port: "http", endPort: 90 }] }] }));
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({
        field: "spec.ingress[1].ports[0]",
        reason: "failed to parse k8s port: invalid port http:90: invalid name for named port (http:90)",
      });
    }
    expect(() =>
      convertKubernetesNetworkPolicy(k8s({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1" } }] }] })),
    ).toThrow("spec.ingress[0].from[0].ipBlock.cidr");
  });

  it("in lenient mode drops and reports bad rules but keeps the rest", () => {
    const { policy, dropped } = convertKubernetesNetworkPolicyLenient(
      k8s({
        ingress: [{ ports: [{ port: 0 }] }, { ports: [{ port: 22 }] }],
        egress: [{ ports: [{ protocol: "ICMP" }] }],
      }),
    );
    expect(dropped).toEqual([
      {
        field: "spec.ingress[0].ports[0]",
        reason:
          "failed to parse k8s port: invalid port 0: port range invalid, port number must be between 1 and 65535",
      },
      { field: "spec.egress[0].ports[0].protocol", reason: "unsupported protocol ICMP" },
    ]);
    expect(policy.spec?.ingress).toEqual([
      { action: "Allow", protocol: "TCP", destination: { ports: [22] } },
    ]);
    expect(policy.spec?.egress).toBeUndefined();
    expect(policy.spec?.types).toEqual(["Ingress", "Egress"]);
  });
});
