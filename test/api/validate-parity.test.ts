/**
 * Parity with Calico's validator for the resource classes users migrate with (issue 16): each
 * valid shape Calico accepts is accepted, and each invalid neighbour is refused with Calico's
 * reason. Policies are given without a namespace on purpose: Calico's validator does not look at
 * it (the resource layer does), so neither does `validate`.
 */
import { describe, expect, it } from "vitest";
import { applyDefaults, validate } from "../../src/api/index.js";
import { resource, summary } from "./samples.js";

type Spec = Record<string, unknown>;

const check = (kind: string, name: string, spec: Spec, meta: Spec = {}) =>
  summary(validate(applyDefaults(resource(kind, name, spec, meta))));
const np = (spec: Spec, name = "thing") => check("NetworkPolicy", name, spec);
const gnp = (spec: Spec, name = "thing") => check("GlobalNetworkPolicy", name, spec);

const LABEL_NAME =
  "metadata.name: name must consist of lower case alphanumeric characters or '-' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?)";
const SUBDOMAIN_NAME =
  "metadata.name: name must consist of lower case alphanumeric characters, '-' or '.' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)";
const svc = { name: "service1", namespace: "default" };
const allow = (rule: Spec) => [{ action: "Allow", ...rule }];

describe("policy rules with services", () => {
  it("accepts services in egress destinations and ingress sources, with source ports", () => {
    expect(np({ egress: allow({ destination: { services: svc } }) })).toEqual([]);
    expect(np({ ingress: allow({ source: { services: svc } }) })).toEqual([]);
    expect(np({ ingress: allow({ protocol: "TCP", source: { services: svc, ports: [80] } }) })).toEqual([]);
    expect(
      np({ ingress: allow({ protocol: "TCP", source: { services: svc, notPorts: ["80:90"] } }) }),
    ).toEqual([]);
    // A namespaced policy may leave the service's namespace to default to its own.
    expect(np({ egress: allow({ destination: { services: { name: "service1" } } }) })).toEqual([]);
    expect(gnp({ egress: allow({ destination: { services: svc } }) })).toEqual([]);
  });

  it("refuses services on the wrong side of a rule", () => {
    expect(np({ egress: allow({ source: { services: svc } }) })).toEqual([
      "spec.egress[0].source.services: not allowed in egress rule source",
    ]);
    expect(gnp({ ingress: allow({ destination: { services: svc } }) })).toEqual([
      "spec.ingress[0].destination.services: not allowed in ingress rule destination",
    ]);
  });

  it("refuses destination ports with services, and other matches beside services", () => {
    expect(np({ egress: allow({ protocol: "TCP", destination: { services: svc, ports: [80] } }) })).toEqual([
      "spec.egress[0].destination: ports and notPorts cannot be specified with services",
    ]);
    expect(
      np({ egress: allow({ protocol: "TCP", destination: { services: svc, notPorts: [80] } }) }),
    ).toEqual(["spec.egress[0].destination: ports and notPorts cannot be specified with services"]);
    const beside = (extra: Spec) => np({ ingress: allow({ source: { services: svc, ...extra } }) });
    expect(beside({ serviceAccounts: { names: ["sa"] } })).toEqual([
      "spec.ingress[0].source.services: cannot specify ServiceAccounts and Services on the same rule",
    ]);
    expect(beside({ nets: ["10.0.0.0/8"] })).toEqual([
      "spec.ingress[0].source.services: cannot specify Nets/NotNets and Services on the same rule",
    ]);
    expect(beside({ notSelector: "x == 'y'" })).toEqual([
      "spec.ingress[0].source.services: cannot specify Selector/NotSelector and Services on the same rule",
    ]);
    expect(beside({ namespaceSelector: "x == 'y'" })).toEqual([
      "spec.ingress[0].source.services: cannot specify NamespaceSelector and Services on the same rule",
    ]);
  });

  it("requires a service name, and a namespace in a global policy", () => {
    expect(np({ ingress: allow({ source: { services: { namespace: "default" } } }) })).toEqual([
      "spec.ingress[0].source.services.name: services must specify a service name",
    ]);
    expect(gnp({ egress: allow({ destination: { services: { name: "service1" } } }) })).toEqual([
      "spec.egress[0].destination.services.namespace: must specify a namespace",
    ]);
  });
});

describe("performanceHints", () => {
  it("accepts AssumeNeededOnEveryNode once, on both policy kinds", () => {
    expect(np({ performanceHints: ["AssumeNeededOnEveryNode"] })).toEqual([]);
    expect(gnp({ performanceHints: ["AssumeNeededOnEveryNode"] })).toEqual([]);
  });

  it("refuses unknown and repeated hints", () => {
    expect(np({ performanceHints: ["junk"] })).toEqual([
      'spec.performanceHints[0]: supported values: "AssumeNeededOnEveryNode"',
    ]);
    const twice = ["AssumeNeededOnEveryNode", "AssumeNeededOnEveryNode"];
    expect(np({ performanceHints: twice })).toEqual(["spec.performanceHints[1]: Duplicate value"]);
    expect(gnp({ performanceHints: twice })).toEqual(["spec.performanceHints[1]: Duplicate value"]);
  });
});

describe("staged policies", () => {
  const snp = (name: string, spec: Spec) => check("StagedNetworkPolicy", name, spec);
  const sgnp = (name: string, spec: Spec) => check("StagedGlobalNetworkPolicy", name, spec);
  const sel = 'foo == "bar"';

  it("accepts Set (explicit, empty or unset) and a Delete carrying only the tier", () => {
    for (const stagedAction of ["Set", "", undefined]) {
      const spec = stagedAction === undefined ? { selector: sel } : { stagedAction, selector: sel };
      expect(snp("thing", spec)).toEqual([]);
      expect(sgnp("thing", spec)).toEqual([]);
    }
    expect(snp("eng.thing", { stagedAction: "Delete", tier: "eng" })).toEqual([]);
    expect(sgnp("eng.thing", { stagedAction: "Delete", tier: "eng" })).toEqual([]);
    expect(sgnp("thing", { stagedAction: "Delete" })).toEqual([]);
    expect(check("StagedKubernetesNetworkPolicy", "k", { stagedAction: "Delete" })).toEqual([]);
  });

  it("allows a missing types list (inferred for Set, none for Delete)", () => {
    const set = applyDefaults(resource("StagedNetworkPolicy", "p", { egress: [{ action: "Deny" }] }));
    expect(set.spec).toMatchObject({ stagedAction: "Set", types: ["Egress"] });
    const del = applyDefaults(resource("StagedNetworkPolicy", "p", { stagedAction: "Delete" }));
    expect(del.spec?.types).toBeUndefined();
    expect(validate(del)).toEqual([]);
  });

  it("refuses other actions and a Delete with more than the tier", () => {
    expect(snp("thing", { stagedAction: "Warning", selector: sel })).toEqual([
      'spec.stagedAction: supported values: "Set", "Delete", "Learn", "Ignore"',
    ]);
    expect(sgnp("thing", { stagedAction: "Delete", selector: sel })).toEqual([
      "spec: Spec fields, except Tier, should all be zero-value if stagedAction is Delete",
    ]);
    expect(
      check("StagedKubernetesNetworkPolicy", "k", { stagedAction: "Delete", policyTypes: ["Egress"] }),
    ).toEqual(["spec: Spec fields should all be zero-value if stagedAction is Delete"]);
  });

  it("names staged policies like their enforced kinds", () => {
    expect(snp("knp.default.thing", { stagedAction: "Delete" })).toEqual([]);
    expect(snp("a".repeat(253), { stagedAction: "Delete" })).toEqual([]);
    expect(snp("a".repeat(254), { stagedAction: "Delete" })).toEqual([
      "metadata.name: name is too long by 1 bytes",
    ]);
    expect(snp("t.h.i.ng", { stagedAction: "Delete" })).toEqual([LABEL_NAME]);
    expect(snp("tHiNg", { stagedAction: "Delete" })).toEqual([LABEL_NAME]);
    for (const name of ["knp.default.thing", "t.h.i.ng", "tHiNg", "t~!s.h.i.ng"]) {
      expect(sgnp(name, { selector: sel })).toEqual([LABEL_NAME]);
    }
  });
});

describe("types", () => {
  it("accepts no types, either type or both, whatever rule lists are present", () => {
    for (const types of [undefined, [], ["Ingress"], ["Egress"], ["Ingress", "Egress"]]) {
      for (const rules of [{}, { ingress: allow({}) }, { egress: allow({}) }]) {
        const spec = types === undefined ? rules : { ...rules, types };
        expect(np(spec)).toEqual([]);
        expect(gnp(spec)).toEqual([]);
      }
    }
  });

  it("refuses repeats, unknown types and Egress on a pre-DNAT policy", () => {
    expect(np({ types: ["Egress", "Egress"] })).toEqual([
      "spec.types: 'Egress' type specified more than once",
    ]);
    expect(np({ types: ["unexpected"] })).toEqual(['spec.types[0]: supported values: "Ingress", "Egress"']);
    expect(gnp({ preDNAT: true, applyOnForward: true, types: ["Ingress"] })).toEqual([]);
    expect(gnp({ preDNAT: true, applyOnForward: true, types: ["Ingress", "Egress"] })).toEqual([
      "spec.types: preDNAT policy cannot have 'Egress' type",
    ]);
  });

  it("infers types from the rule lists when none are given", () => {
    const typesOf = (spec: Spec) => applyDefaults(resource("NetworkPolicy", "p", spec)).spec?.types;
    expect(typesOf({})).toEqual(["Ingress"]);
    expect(typesOf({ egress: allow({}) })).toEqual(["Egress"]);
    expect(typesOf({ ingress: allow({}), egress: allow({}) })).toEqual(["Ingress", "Egress"]);
    expect(typesOf({ ingress: allow({}), types: ["Egress"] })).toEqual(["Egress"]);
  });
});

describe("policy names", () => {
  it("accepts Kubernetes-style, single-dot and 253-character NetworkPolicy names", () => {
    for (const name of ["thing", "th.ing", "knp.default.thing", "knp.default.a.b.c", "a".repeat(253)]) {
      expect(np({}, name)).toEqual([]);
    }
    expect(gnp({}, "th.ing")).toEqual([]);
  });

  it("refuses several dots, upper case, other characters and 254 characters", () => {
    expect(np({}, "t.h.i.ng")).toEqual([LABEL_NAME]);
    expect(np({}, "tHiNg")).toEqual([LABEL_NAME]);
    expect(gnp({}, "t~!s.h.i.ng")).toEqual([LABEL_NAME]);
    expect(gnp({}, "knp.default.thing")).toEqual([LABEL_NAME]);
    expect(np({}, "a".repeat(254))).toEqual(["metadata.name: name is too long by 1 bytes"]);
  });
});

describe("global() in selectors", () => {
  it("accepts global() alone, and projectcalico.org/name, in an entity namespaceSelector", () => {
    const rule = allow({
      source: { namespaceSelector: "  global()  " },
      destination: { namespaceSelector: "projectcalico.org/name == 'test'" },
    });
    expect(np({ ingress: rule })).toEqual([]);
    expect(gnp({ ingress: rule })).toEqual([]);
  });

  it("refuses global() combined with other terms, or anywhere else", () => {
    const ns = (namespaceSelector: string) => gnp({ ingress: allow({ source: { namespaceSelector } }) });
    for (const selector of [" global() && all()", "global()||all()"]) {
      expect(ns(selector)).toEqual([
        "spec.ingress[0].source.namespaceSelector: global() cannot be combined with other selectors",
      ]);
    }
    const GLOBAL = "global() can only be used in an EntityRule namespaceSelector";
    expect(gnp({ ingress: allow({ source: { selector: "global()" } }) })).toEqual([
      `spec.ingress[0].source.selector: ${GLOBAL}`,
    ]);
    expect(np({ selector: "global()" })).toEqual([`spec.selector: ${GLOBAL}`]);
    expect(np({ serviceAccountSelector: "global()" })).toEqual([`spec.serviceAccountSelector: ${GLOBAL}`]);
    expect(gnp({ namespaceSelector: "global()" })).toEqual([`spec.namespaceSelector: ${GLOBAL}`]);
  });
});

describe("network sets", () => {
  const nets = ["10.0.0.1", "11.0.0.0/8", "dead:beef::", "dead:beef::/96"];

  it("accepts labels and IPs or CIDRs of either family", () => {
    for (const kind of ["NetworkSet", "GlobalNetworkSet"]) {
      expect(check(kind, "testset", { nets }, { labels: { a: "b", "example.com/role": "db" } })).toEqual([]);
    }
  });

  it("refuses the reserved namespace label, bad CIDRs and bad names", () => {
    for (const kind of ["NetworkSet", "GlobalNetworkSet"]) {
      expect(check(kind, "testset", { nets }, { labels: { "projectcalico.org/namespace": "foo" } })).toEqual([
        "metadata.labels: projectcalico.org/namespace is not a valid label name",
      ]);
      expect(check(kind, "testset", { nets: ["garbage"] })).toEqual(["spec.nets[0]: invalid CIDR"]);
      expect(check(kind, "test$set", { nets })).toEqual([SUBDOMAIN_NAME]);
    }
  });
});

describe("WorkloadEndpoint", () => {
  // Spec-only shapes as in Calico's validator; the name against the identifiers is the client's.
  const wep = (spec: Spec) => check("WorkloadEndpoint", "", { interfaceName: "eth0", ...spec });
  const port = (p: Spec) => wep({ ports: [p] });

  it("accepts an interface-only endpoint and mixed-case container IDs", () => {
    expect(check("WorkloadEndpoint", "", { interfaceName: "cali012371237" })).toEqual([]);
    expect(wep({ containerID: "Cath01234-G" })).toEqual([]);
    expect(wep({ interfaceName: "Valid_Iface.0-9" })).toEqual([]);
  });

  it("accepts ports of every port protocol, nameless ones with a host port, and name clashes", () => {
    for (const protocol of ["TCP", "UDP", "SCTP"]) {
      expect(port({ name: "a-valid-port", protocol, port: 1234 })).toEqual([]);
    }
    expect(port({ name: "", protocol: "UDP", port: 1234, hostPort: 2345 })).toEqual([]);
    expect(port({ protocol: "TCP", port: 1234, hostPort: 2345, hostIP: "10.0.0.1" })).toEqual([]);
    expect(
      wep({
        ports: [
          { name: "a-valid-port", protocol: "TCP", port: 1234 },
          { name: "a-valid-port", protocol: "UDP", port: 5456 },
        ],
      }),
    ).toEqual([]);
  });

  it("refuses a nameless port without a host port, a bad host IP, and missing or portless protocols", () => {
    expect(port({ name: "", protocol: "UDP", port: 1234 })).toEqual([
      "spec.ports[0].name: WorkloadEndpointPort name must not be empty if no HostPort is specified",
    ]);
    expect(port({ protocol: "TCP", port: 1234, hostPort: 2345, hostIP: "999.999.999.999" })).toEqual([
      "spec.ports[0].hostIP: invalid CIDR",
    ]);
    expect(port({ name: "a-valid-port", port: 1234 })).toEqual([
      "spec.ports[0].protocol: protocol number invalid",
    ]);
    expect(port({ name: "a-valid-port", protocol: 123, port: 1234 })).toEqual([
      "spec.ports[0].protocol: WorkloadEndpointPort protocol does not support ports.",
    ]);
    expect(port({ name: "a-valid-port", protocol: "TCP" })).toEqual([
      "spec.ports[0].port: should be greater than or equal to 1",
    ]);
  });

  it("accepts spoofable prefixes given as IPs or CIDRs, and refuses garbage", () => {
    expect(wep({ allowSpoofedSourcePrefixes: ["10.0.0.1", "192.168.0.0/16"] })).toEqual([]);
    expect(wep({ allowSpoofedSourcePrefixes: ["10.abcd"] })).toEqual([
      "spec.allowSpoofedSourcePrefixes[0]: invalid CIDR",
    ]);
  });

  it("accepts NATs covered by the endpoint's networks, IPv4 and IPv6, and refuses others", () => {
    const v4 = { internalIP: "1.2.3.4", externalIP: "100.200.0.0" };
    const v6 = { internalIP: "aabb:aabb::ffff", externalIP: "aabb::abcd" };
    const networks = ["1.2.3.4/32", "aabb:aabb::ffff/128"];
    expect(
      wep({ ipNetworks: ["1.2.3.4/32", "1.2.0.0/32", "aabb:aabb::ffff/128", "aabb:aabb::/128"] }),
    ).toEqual([]);
    expect(wep({ ipNetworks: ["1.2.3.4/32"], ipNATs: [v4] })).toEqual([]);
    expect(wep({ ipNetworks: ["aabb:aabb::ffff/128"], ipNATs: [v6] })).toEqual([]);
    expect(wep({ ipNetworks: networks, ipNATs: [v4, v6] })).toEqual([]);
    const uncovered = ["spec.ipNATs: NAT is not in the endpoint networks"];
    expect(wep({ ipNATs: [{ internalIP: "100.200.0.0", externalIP: "1.2.3.4" }] })).toEqual(uncovered);
    expect(
      wep({ ipNetworks: ["aabb:aabb::ffff/128"], ipNATs: [{ ...v6, internalIP: "aabb::abcd" }] }),
    ).toEqual(uncovered);
    expect(wep({ ipNetworks: ["1.2.3.0/26"] })).toEqual([
      "spec.ipNetworks[0]: IP network contains multiple addresses",
    ]);
  });

  it("refuses an endpoint without an interface, and container IDs with edge dashes or dots", () => {
    expect(check("WorkloadEndpoint", "", {})).toEqual(["spec.interfaceName: Required value"]);
    for (const containerID of ["-abcdefg", "abcdeSg-", "abcde-j.g"]) {
      expect(wep({ containerID })).toEqual(["spec.containerID: invalid container ID"]);
    }
  });
});
