import { describe, expect, it } from "vitest";
import { applyDefaults, type ValidationError, validate } from "../../src/api/index.js";
import { resource, summary } from "./samples.js";

/** Validates a defaulted GlobalNetworkPolicy with the given rules. */
function gnp(spec: Record<string, unknown>): ValidationError[] {
  return validate(applyDefaults(resource("GlobalNetworkPolicy", "p", spec)));
}
const ingress = (...rules: Record<string, unknown>[]) => summary(gnp({ ingress: rules }));

describe("validate: rules", () => {
  it("requires a port-carrying protocol for numeric ports but not for named ports", () => {
    expect(ingress({ action: "Allow", destination: { ports: ["http", "https"] } })).toEqual([]);
    expect(ingress({ action: "Allow", destination: { ports: [80] }, source: { notPorts: ["1:2"] } })).toEqual(
      [
        "spec.ingress[0].source.notPorts: rules with numeric port or port range must set protocol to TCP or UDP or SCTP",
        "spec.ingress[0].destination.ports: rules with numeric port or port range must set protocol to TCP or UDP or SCTP",
      ],
    );
    expect(ingress({ action: "Allow", protocol: "ICMP", destination: { ports: ["http"] } })).toEqual([
      "spec.ingress[0].destination.ports: rules that specify ports must set protocol to TCP or UDP or SCTP",
    ]);
    expect(ingress({ action: "Allow", protocol: 132, destination: { ports: [80] } })).toEqual([]);
  });

  it("rejects invalid protocols and ports with Calico's reasons", () => {
    expect(ingress({ action: "Allow", protocol: "tcp" })).toEqual([
      "spec.ingress[0].protocol: protocol name invalid",
    ]);
    expect(ingress({ action: "Allow", protocol: 0 })).toEqual([
      "spec.ingress[0].protocol: protocol number invalid",
    ]);
    expect(ingress({ action: "Allow", protocol: "TCP", destination: { ports: ["90:80", 0] } })).toEqual([
      "spec.ingress[0].destination.ports[0]: minimum port number (90) is greater than maximum port number (80) in port range",
      "spec.ingress[0].destination.ports[1]: port range invalid, port number must be between 1 and 65535",
    ]);
    expect(ingress({ action: "Jump" })).toEqual([
      'spec.ingress[0].action: supported values: "Allow", "Deny", "Log", "Pass"',
    ]);
    expect(ingress({})).toEqual(["spec.ingress[0].action: Required value"]);
  });

  it("checks ICMP fields", () => {
    expect(ingress({ action: "Allow", protocol: "ICMPv6", icmp: { type: 128 }, ipVersion: 6 })).toEqual([]);
    expect(ingress({ action: "Allow", protocol: "TCP", icmp: { type: 8 } })).toEqual([
      "spec.ingress[0].icmp: ICMP fields require protocol to be ICMP or ICMPv6",
    ]);
    expect(ingress({ action: "Allow", protocol: 1, icmp: { code: 0 }, notICMP: { code: 1 } })).toEqual([
      "spec.ingress[0].icmp: ICMP code specified without an ICMP type",
      "spec.ingress[0].notICMP: ICMP code specified without an ICMP type",
    ]);
    expect(ingress({ action: "Allow", protocol: "ICMP", icmp: { type: 255 } })).toEqual([
      "spec.ingress[0].icmp.type: should be less than or equal to 254",
    ]);
  });

  it("ties ICMP protocols to their IP version", () => {
    expect(ingress({ action: "Allow", protocol: "ICMP", ipVersion: 6 })).toEqual([
      "spec.ingress[0].protocol: protocol ICMP requires ipVersion 4",
    ]);
    expect(ingress({ action: "Allow", notProtocol: 58, ipVersion: 4 })).toEqual([
      "spec.ingress[0].notProtocol: protocol ICMPv6 requires ipVersion 6",
    ]);
    expect(ingress({ action: "Allow", ipVersion: 5 })).toEqual([
      "spec.ingress[0].ipVersion: supported values: 4, 6",
    ]);
  });

  it("checks CIDR syntax, masking and family agreement", () => {
    expect(
      ingress({
        action: "Allow",
        source: { nets: ["10.0.0.0/8"] },
        destination: { notNets: ["10.1.0.0/16"] },
      }),
    ).toEqual([]);
    expect(ingress({ action: "Allow", source: { nets: ["nonsense", "10.0.0.1/8"] } })).toEqual([
      "spec.ingress[0].source.nets[0]: invalid CIDR",
      "spec.ingress[0].source.nets[1]: CIDR is not strictly masked",
    ]);
    expect(
      ingress({ action: "Allow", source: { nets: ["10.0.0.0/8"] }, destination: { nets: ["fd00::/8"] } }),
    ).toEqual(["spec.ingress[0].destination.nets: rule contains both IPv4 and IPv6 CIDRs"]);
    expect(ingress({ action: "Allow", ipVersion: 6, source: { nets: ["10.0.0.0/8"] } })).toEqual([
      "spec.ingress[0].source.nets: rule IP version doesn't match CIDR version",
    ]);
  });

  it("rejects a catch-all CIDR in notNets", () => {
    const reason = "catch-all CIDR in negation creates logical contradiction (matches no traffic)";
    expect(ingress({ action: "Allow", source: { notNets: ["0.0.0.0/0"] } })).toEqual([
      `spec.ingress[0].source.notNets[0]: ${reason}`,
    ]);
    expect(ingress({ action: "Allow", destination: { notNets: ["::/0"] } })).toEqual([
      `spec.ingress[0].destination.notNets[0]: ${reason}`,
    ]);
    expect(ingress({ action: "Allow", destination: { nets: ["0.0.0.0/0"] } })).toEqual([]);
  });

  it("parses selectors and applies the global() rules", () => {
    expect(ingress({ action: "Allow", source: { selector: "a ==" } })[0]).toMatch(
      /^spec.ingress\[0\].source.selector: invalid selector: expected string/,
    );
    expect(
      ingress({ action: "Allow", source: { namespaceSelector: "global()", selector: "x == 'y'" } }),
    ).toEqual([]);
    expect(ingress({ action: "Allow", source: { namespaceSelector: "global() && a == 'b'" } })).toEqual([
      "spec.ingress[0].source.namespaceSelector: global() cannot be combined with other selectors",
    ]);
    expect(ingress({ action: "Allow", source: { selector: "global()" } })).toEqual([
      "spec.ingress[0].source.selector: global() can only be used in an EntityRule namespaceSelector",
    ]);
    expect(summary(gnp({ selector: "global()" }))).toEqual([
      "spec.selector: global() can only be used in an EntityRule namespaceSelector",
    ]);
    expect(ingress({ action: "Allow", source: { selector: "a == 'b'\n" } })).toEqual([
      "spec.ingress[0].source.selector: invalid selector: expected identifier at position 8",
    ]);
  });

  it("restricts service matches", () => {
    expect(ingress({ action: "Allow", source: { services: { name: "db", namespace: "prod" } } })).toEqual([]);
    expect(
      ingress({
        action: "Allow",
        source: {
          services: { namespace: "prod" },
          namespaceSelector: "all()",
          serviceAccounts: { names: ["a"] },
          selector: "a == 'b'",
          nets: ["10.0.0.0/8"],
        },
      }),
    ).toEqual([
      "spec.ingress[0].source.services: cannot specify NamespaceSelector and Services on the same rule",
      "spec.ingress[0].source.services: cannot specify ServiceAccounts and Services on the same rule",
      "spec.ingress[0].source.services.name: services must specify a service name",
      "spec.ingress[0].source.services: cannot specify Selector/NotSelector and Services on the same rule",
      "spec.ingress[0].source.services: cannot specify Nets/NotNets and Services on the same rule",
    ]);
    expect(
      summary(
        gnp({
          egress: [
            { action: "Allow", protocol: "TCP", destination: { services: { name: "api" }, ports: [443] } },
          ],
        }),
      ),
    ).toEqual([
      "spec.egress[0].destination: ports and notPorts cannot be specified with services",
      "spec.egress[0].destination.services.namespace: must specify a namespace",
    ]);
    expect(ingress({ action: "Allow", destination: { services: { name: "x", namespace: "y" } } })).toEqual([
      "spec.ingress[0].destination.services: not allowed in ingress rule destination",
    ]);
    expect(
      summary(gnp({ egress: [{ action: "Allow", source: { services: { name: "x", namespace: "y" } } }] })),
    ).toEqual(["spec.egress[0].source.services: not allowed in egress rule source"]);
  });

  it("restricts HTTP matches", () => {
    expect(ingress({ action: "Allow", http: { methods: ["GET"], paths: [{ prefix: "/api" }] } })).toEqual([]);
    expect(ingress({ action: "Deny", protocol: "UDP", http: { methods: ["GET", "GET"] } })).toEqual([
      "spec.ingress[0].http: rules with HTTP match must have protocol TCP or unset",
      "spec.ingress[0].http: HTTP match is only valid on Allow rules",
      "spec.ingress[0].http.methods: Invalid methods (duplicates): [GET GET]",
    ]);
    expect(ingress({ action: "Allow", http: { paths: [{ exact: "/a", prefix: "/b" }] } })).toEqual([
      "spec.ingress[0].http.paths: Invalid path match. Both 'exact' and 'prefix' are set",
    ]);
    expect(ingress({ action: "Allow", http: { paths: [{ exact: "/a?b" }] } })).toEqual([
      "spec.ingress[0].http.paths: Invalid path /a?b. (must start with `/` and not contain `?` or `#`",
    ]);
    expect(summary(gnp({ egress: [{ action: "Allow", http: { methods: ["GET"] } }] }))).toEqual([
      "spec.egress[0].http: not allowed in egress rules",
    ]);
    const np = validate(
      applyDefaults(
        resource("NetworkPolicy", "p", { egress: [{ action: "Allow", http: {} }] }, { namespace: "n" }),
      ),
    );
    expect(summary(np)).toEqual(["spec.egress[0].http: not allowed in egress rule"]);
  });

  it("limits list sizes", () => {
    const rules = Array.from({ length: 1025 }, () => ({ action: "Allow" }));
    expect(summary(gnp({ ingress: rules }))).toEqual(["spec.ingress: must have at most 1024 items"]);
    const ports = Array.from({ length: 51 }, (_, i) => i + 1);
    expect(ingress({ action: "Allow", protocol: "TCP", destination: { ports } })).toEqual([
      "spec.ingress[0].destination.ports: must have at most 50 items",
    ]);
  });

  it("applies the same rule checks inside profiles, without the direction rules", () => {
    const profile = resource("Profile", "p", {
      egress: [{ action: "Allow", destination: { ports: [53] }, source: { services: { name: "x" } } }],
    });
    expect(summary(validate(profile))).toEqual([
      "spec.egress[0].destination.ports: rules with numeric port or port range must set protocol to TCP or UDP or SCTP",
    ]);
  });
});
