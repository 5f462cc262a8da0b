import { describe, expect, it } from "vitest";
import { applyDefaults, validate } from "../../src/api/index.js";
import { resource, summary } from "./samples.js";

const check = (kind: string, spec: Record<string, unknown>, name = "p", meta: Record<string, unknown> = {}) =>
  summary(validate(applyDefaults(resource(kind, name, spec, meta))));

describe("validate: policies", () => {
  it("allows one or two distinct policy types", () => {
    expect(check("GlobalNetworkPolicy", { types: ["Ingress", "Egress"] })).toEqual([]);
    expect(check("GlobalNetworkPolicy", { types: ["Ingress", "Ingress"] })).toEqual([
      "spec.types: 'Ingress' type specified more than once",
    ]);
    expect(check("GlobalNetworkPolicy", { types: ["Ingress", "Egress", "Ingress"] })).toEqual([
      "spec.types: must have at most 2 items",
      "spec.types: 'Ingress' type specified more than once",
    ]);
    expect(check("GlobalNetworkPolicy", { types: ["Forward"] })).toEqual([
      'spec.types[0]: supported values: "Ingress", "Egress"',
    ]);
  });

  it("enforces the preDNAT / doNotTrack / applyOnForward combinations", () => {
    expect(check("GlobalNetworkPolicy", { preDNAT: true, applyOnForward: true })).toEqual([]);
    expect(check("GlobalNetworkPolicy", { doNotTrack: true, applyOnForward: true })).toEqual([]);
    expect(check("GlobalNetworkPolicy", { preDNAT: true, doNotTrack: true })).toEqual([
      "spec.preDNAT: preDNAT and doNotTrack cannot both be true",
      "spec.applyOnForward: applyOnForward must be true if either preDNAT or doNotTrack is true",
    ]);
    expect(
      check("GlobalNetworkPolicy", { preDNAT: true, applyOnForward: true, egress: [{ action: "Deny" }] }),
    ).toEqual([
      "spec.egress: preDNAT policy cannot have any egress rules",
      "spec.types: preDNAT policy cannot have 'Egress' type",
    ]);
  });

  it("validates performance hints and the tier name", () => {
    expect(check("GlobalNetworkPolicy", { performanceHints: ["AssumeNeededOnEveryNode"] })).toEqual([]);
    expect(check("GlobalNetworkPolicy", { performanceHints: ["Fast"], tier: "Bad_Tier" })).toEqual([
      expect.stringMatching(/^spec.tier: name must consist of lower case/),
      'spec.performanceHints[0]: supported values: "AssumeNeededOnEveryNode"',
    ]);
  });

  it("checks serviceAccountSelector and GNP namespaceSelector", () => {
    expect(check("GlobalNetworkPolicy", { namespaceSelector: "global()" })).toEqual([
      "spec.namespaceSelector: global() can only be used in an EntityRule namespaceSelector",
    ]);
    expect(check("NetworkPolicy", { serviceAccountSelector: "x in {" }, "p", { namespace: "n" })[0]).toMatch(
      /^spec.serviceAccountSelector: invalid selector: /,
    );
  });

  it("requires a staged deletion to carry nothing but the tier", () => {
    expect(
      check("StagedNetworkPolicy", { stagedAction: "Delete", tier: "sec" }, "sec.p", { namespace: "n" }),
    ).toEqual([]);
    expect(check("StagedGlobalNetworkPolicy", { stagedAction: "Delete", selector: "a == 'b'" })).toEqual([
      "spec: Spec fields, except Tier, should all be zero-value if stagedAction is Delete",
    ]);
    expect(check("StagedGlobalNetworkPolicy", { stagedAction: "Sometimes" })).toEqual([
      'spec.stagedAction: supported values: "Set", "Delete", "Learn", "Ignore"',
    ]);
  });

  it("validates staged policies like their enforced kinds", () => {
    expect(check("StagedGlobalNetworkPolicy", { preDNAT: true })).toEqual([
      "spec.applyOnForward: applyOnForward must be true if either preDNAT or doNotTrack is true",
    ]);
  });

  it("validates StagedKubernetesNetworkPolicy by converting it", () => {
    const sknp = (spec: Record<string, unknown>) =>
      check("StagedKubernetesNetworkPolicy", spec, "k", { namespace: "n" });
    expect(sknp({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }] })).toEqual([]);
    expect(sknp({ ingress: [{ ports: [{ port: "99999" }] }] })).toEqual([
      "spec: conversion to stagednetworkpolicy failed spec.ingress[0].ports[0]: failed to parse k8s port: invalid port 99999: invalid port format (99999)",
    ]);
    expect(sknp({ stagedAction: "Delete" })).toEqual([]);
    expect(sknp({ stagedAction: "Delete", policyTypes: ["Ingress"] })).toEqual([
      "spec: Spec fields should all be zero-value if stagedAction is Delete",
    ]);
  });
});

describe("validate: tiers, profiles, network sets", () => {
  it("pins the protected tiers' order and default action", () => {
    expect(check("Tier", {}, "default")).toEqual([]);
    expect(check("Tier", { order: 1000, defaultAction: "Pass" }, "kube-admin")).toEqual([]);
    expect(check("Tier", { order: 10000000, defaultAction: "Pass" }, "kube-baseline")).toEqual([]);
    expect(check("Tier", { order: 5, defaultAction: "Pass" }, "default")).toEqual([
      "spec.defaultAction: The 'default' tier must have default action 'Deny'",
      "spec.order: default tier order must be 1000000",
    ]);
    expect(check("Tier", {}, "kube-admin")).toEqual([
      "spec.defaultAction: The 'kube-admin' tier must have default action 'Pass'",
      "spec.order: kube-admin tier order must be 1000",
    ]);
    expect(check("Tier", { defaultAction: "Allow" }, "mine")).toEqual([
      'spec.defaultAction: supported values: "Pass", "Deny"',
    ]);
  });

  it("checks profile labelsToApply like labels", () => {
    expect(check("Profile", { labelsToApply: { "a b": "c" } })[0]).toMatch(
      /^spec.labelsToApply: name part must consist/,
    );
  });

  it("forbids the namespace label on network sets", () => {
    const reason = "metadata.labels: projectcalico.org/namespace is not a valid label name";
    const labels = { "projectcalico.org/namespace": "x" };
    expect(check("NetworkSet", { nets: ["10.0.0.0/8"] }, "s", { namespace: "n", labels })).toEqual([reason]);
    expect(check("GlobalNetworkSet", {}, "s", { labels })).toEqual([reason]);
    expect(check("GlobalNetworkSet", { nets: ["10.0.0.300"] })).toEqual(["spec.nets[0]: invalid CIDR"]);
  });
});
