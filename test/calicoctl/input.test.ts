/** Input documents: the separator, strict parsing, Lists and Kubernetes policies, namespaces. */
import { describe, expect, it } from "vitest";
import { resourcesFromArgs } from "../../src/calicoctl/input/args.js";
import { DocumentError, parseDocument, UnknownFieldError } from "../../src/calicoctl/input/parse.js";
import { splitYAMLDocuments } from "../../src/calicoctl/input/split.js";
import type { InputResource } from "../../src/calicoctl/input/types.js";
import { settleNamespace } from "../../src/calicoctl/namespace.js";

describe("splitYAMLDocuments", () => {
  it("splits at lines starting with --- and drops the rest of the separator line", () => {
    expect(splitYAMLDocuments("a: 1\n--- # comment\nb: 2\n---\n")).toEqual(["a: 1", "b: 2"]);
  });

  it("leaves a leading --- and inline --- alone", () => {
    expect(splitYAMLDocuments("---\na: x---y\n")).toEqual(["---\na: x---y\n"]);
  });
});

describe("parseDocument", () => {
  it("reads YAML 1.1 booleans but keeps timestamps as strings", () => {
    const [pool] = parseDocument(
      "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\n  creationTimestamp: 2026-01-01T00:00:00Z\nspec:\n  cidr: 10.0.0.0/24\n  natOutgoing: yes\n",
    );
    expect(pool?.resource.spec).toEqual({ cidr: "10.0.0.0/24", natOutgoing: true });
    expect(pool?.resource.metadata.creationTimestamp).toBe("2026-01-01T00:00:00Z");
  });

  it("expands Lists and sequences, defaulting item kinds", () => {
    const list = parseDocument(
      '{"apiVersion":"projectcalico.org/v3","kind":"TierList","items":[{"metadata":{"name":"a"}},{"kind":"Tier","metadata":{"name":"b"}}]}',
    );
    expect(list.map((i) => [i.resource.kind, i.resource.metadata.name])).toEqual([
      ["Tier", "a"],
      ["Tier", "b"],
    ]);
    expect(() =>
      parseDocument(
        '{"apiVersion":"projectcalico.org/v3","kind":"TierList","items":[{"kind":"IPPool","metadata":{}}]}',
      ),
    ).toThrow("unknown resource type (IPPool) and/or version (projectcalico.org/v3)");
    expect(parseDocument("# only a comment\n")).toEqual([]);
  });

  it("names the unknown field as Go's decoder does", () => {
    const err = (() => {
      try {
        parseDocument(
          "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n  ingress:\n  - action: Allow\n    sauce: x\n",
        );
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UnknownFieldError);
    expect((err as Error).message).toBe(
      "field in document is not recognized or is in the wrong location: sauce",
    );
  });

  it("rejects scalars and unknown versions", () => {
    expect(() => parseDocument("just text\n")).toThrow(DocumentError);
    expect(() => parseDocument("apiVersion: projectcalico.org/v2\nkind: IPPool\n")).toThrow(
      "unknown resource type (IPPool) and/or version (projectcalico.org/v2)",
    );
  });

  it("converts Kubernetes NetworkPolicies, leaving an absent namespace for -n to fill", () => {
    const [knp] = parseDocument(
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\nspec:\n  podSelector: {}\n",
    );
    expect(knp?.fromKubernetes).toBe(true);
    expect(knp?.resource.metadata).toEqual({ name: "knp.default.deny" });
    expect(settleNamespace(knp!, { namespace: "prod" }).resource.metadata.namespace).toBe("prod");
  });
});

describe("resourcesFromArgs and namespaces", () => {
  const one = (kind: string, name: string, namespace?: string): InputResource =>
    resourcesFromArgs(kind, [name], namespace ? { namespace } : {})[0]!;

  it("resolves aliases case-insensitively", () => {
    expect(one("GNP", "x").resource.kind).toBe("GlobalNetworkPolicy");
    expect(one("Weps", "x").resource.kind).toBe("WorkloadEndpoint");
    expect(one("ippool", "x").resource.kind).toBe("IPPool");
    expect(() => one("pods", "x")).toThrow("resource type 'pods' is not supported");
    expect(resourcesFromArgs("ippool", [], { listWhenUnnamed: true })[0]?.resource.metadata.name).toBe("");
    expect(resourcesFromArgs("ippool", [])).toEqual([]);
  });

  it("applies Calico's namespace rules", () => {
    expect(settleNamespace(one("np", "a"), {}).resource.metadata.namespace).toBe("default");
    expect(settleNamespace(one("np", "a", "x"), { namespace: "x" }).resource.metadata.namespace).toBe("x");
    const list = resourcesFromArgs("np", [], { listWhenUnnamed: true })[0]!;
    expect(settleNamespace(list, { allNamespaces: true }).resource.metadata.namespace).toBeUndefined();
    expect(() => settleNamespace(one("np", "a", "x"), { namespace: "y" })).toThrow(
      "resource namespace does not match client namespace. x != y",
    );
    expect(() => settleNamespace(one("gnp", "a"), { allNamespaces: true })).toThrow(
      "GlobalNetworkPolicy is not namespaced",
    );
  });
});
