import { describe, expect, it } from "vitest";
import { applyDefaults, formatValidationErrors, validate } from "../../src/api/index.js";
import { resource, samples, summary } from "./samples.js";

const LABEL_NAME =
  "name must consist of lower case alphanumeric characters or '-' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?)";
const SUBDOMAIN =
  "name must consist of lower case alphanumeric characters, '-' or '.' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)";

describe("validate: envelope", () => {
  it("reports garbage input as errors, never exceptions", () => {
    const junk: unknown[] = [null, undefined, 42, "IPPool", [], [1, 2], true];
    for (const j of junk) {
      const errors = validate(j);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.field).toBe("resource");
    }
    expect(() =>
      validate({ kind: "IPPool", apiVersion: "projectcalico.org/v3", metadata: 5, spec: [] }),
    ).not.toThrow();
  });

  it("checks apiVersion and kind", () => {
    expect(
      summary(validate({ kind: "IPPool", metadata: { name: "p" }, spec: { cidr: "10.0.0.0/8" } })),
    ).toEqual(["apiVersion: Required value"]);
    expect(summary(validate({ apiVersion: "projectcalico.org/v1", kind: "Widget" }))).toEqual([
      "apiVersion: unsupported apiVersion, expected projectcalico.org/v3",
      "kind: unsupported kind",
    ]);
  });

  it("reports wrong JSON types by path", () => {
    const errors = validate(
      resource("IPPool", "p", {
        cidr: "10.0.0.0/8",
        natOutgoing: "yes",
        blockSize: "26",
        allowedUses: "Workload",
      }),
    );
    expect(summary(errors)).toEqual([
      "spec.natOutgoing: must be of type boolean",
      "spec.blockSize: must be of type integer",
      "spec.allowedUses: must be of type array",
    ]);
    expect(
      summary(validate({ apiVersion: "projectcalico.org/v3", kind: "Tier", metadata: [], spec: "x" })),
    ).toEqual(["metadata: must be of type object", "spec: must be of type object"]);
  });

  it("requires a name and does not support generateName", () => {
    const noName = {
      apiVersion: "projectcalico.org/v3",
      kind: "Profile",
      metadata: { generateName: "p-" },
      spec: {},
    };
    expect(formatValidationErrors(validate(noName))).toBe(
      "error with field metadata.name (field must be set for a Create request (GenerateName is not supported))",
    );
  });

  it("applies DNS-1123 subdomain names by default", () => {
    expect(validate(resource("Profile", "kns.prod", {}))).toEqual([]);
    expect(summary(validate(resource("Profile", "Bad_Name", {})))).toEqual([`metadata.name: ${SUBDOMAIN}`]);
    expect(summary(validate(resource("Profile", "a".repeat(254), {})))).toEqual([
      "metadata.name: name is too long by 1 bytes",
    ]);
  });

  it("applies the policy name rules", () => {
    const np = (name: string) =>
      validate(applyDefaults(resource("NetworkPolicy", name, {}, { namespace: "n" })));
    expect(np("allow-web")).toEqual([]);
    expect(np("sec.allow-web")).toEqual([]);
    expect(np("knp.default.some.k8s.name")).toEqual([]);
    expect(np("ossg.default.x.y")).toEqual([]);
    expect(summary(np("a.b.c"))).toEqual([`metadata.name: ${LABEL_NAME}`]);
    const gnp = (name: string) => validate(applyDefaults(resource("GlobalNetworkPolicy", name, {})));
    expect(gnp("a.b")).toEqual([]);
    expect(summary(gnp("knp.default.x"))).toEqual([`metadata.name: ${LABEL_NAME}`]);
  });

  it("requires tier names to be DNS labels of at most 63 bytes", () => {
    const tier = (name: string) => validate(applyDefaults(resource("Tier", name, {})));
    expect(tier("security")).toEqual([]);
    expect(summary(tier("sec.ops"))).toEqual([`metadata.name: ${LABEL_NAME}`]);
    expect(summary(tier("t".repeat(64)))).toEqual(["metadata.name: name is too long by 1 bytes"]);
  });

  it("only allows the name default for singleton kinds", () => {
    expect(
      summary(
        validate(resource("IPAMConfiguration", "other", { strictAffinity: false, autoAllocateBlocks: true })),
      ),
    ).toEqual([
      'metadata.name: Cannot create an IPAMConfiguration resource with a name other than "default"',
    ]);
    expect(summary(validate(resource("ClusterInformation", "x", {})))).toEqual([
      'metadata.name: Cannot create a Cluster Information resource with a name other than "default"',
    ]);
    expect(summary(validate(applyDefaults(resource("KubeControllersConfiguration", "kcc", {}))))).toEqual([
      'metadata.name: Cannot create a Kube Controllers Configuration resource with a name other than "default"',
    ]);
  });

  it("leaves the namespace to the resource layer, as Calico's validator does", () => {
    expect(summary(validate(applyDefaults(resource("NetworkPolicy", "a", {}))))).toEqual([]);
    expect(summary(validate(resource("Profile", "a", {}, { namespace: "x" })))).toEqual([]);
  });

  it("checks label keys and values and annotation keys with Kubernetes' wording", () => {
    const errors = validate(
      resource(
        "Profile",
        "p",
        {},
        {
          labels: { "example.com/ok": "fine", "-bad": "v", good: "bad value!", "a/b/c": "" },
          annotations: { "Upper.Case/Key": "x", "no spaces": "y" },
        },
      ),
    );
    expect(errors.map((e) => [e.field, e.value])).toEqual([
      ["metadata.labels", "-bad"],
      ["metadata.labels.good", "bad value!"],
      ["metadata.labels", "a/b/c"],
      ["metadata.annotations", "no spaces"],
    ]);
    expect(errors[0]!.reason).toBe(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
    expect(errors[1]!.reason).toMatch(
      /^a valid label must be an empty string or consist of alphanumeric characters/,
    );
  });

  it("limits the total annotation size to 256 KiB", () => {
    const big = resource("Profile", "p", {}, { annotations: { a: "x".repeat(256 * 1024) } });
    expect(summary(validate(big))).toEqual([
      "metadata.annotations: total size of annotations is too large by 1 bytes",
    ]);
  });

  it("reports several problems at once", () => {
    const errors = validate(
      resource(
        "IPPool",
        "Bad",
        { cidr: "10.0.0.1/24", ipipMode: "Sometimes", blockSize: 40 },
        { namespace: "x" },
      ),
    );
    expect(summary(errors)).toEqual([
      'spec.ipipMode: supported values: "Never", "Always", "CrossSubnet"',
      `metadata.name: ${SUBDOMAIN}`,
      "spec.cidr: IPPool CIDR is not strictly masked",
      "spec.blockSize: blockSize must be between 20 and 32 for IPv4 pools, and between 116 and 128 for IPv6 pools",
    ]);
  });
});

describe("formatValidationErrors", () => {
  it("renders one error in Calico's single-field shape", () => {
    expect(
      formatValidationErrors([
        { field: "spec.cidr", value: "10.0.0.1/24", reason: "IPPool CIDR is not strictly masked" },
      ]),
    ).toBe("error with field spec.cidr = '10.0.0.1/24' (IPPool CIDR is not strictly masked)");
    expect(formatValidationErrors([{ field: "spec.bgp", reason: "Spec.BGP should not be empty" }])).toBe(
      "error with field spec.bgp (Spec.BGP should not be empty)",
    );
  });

  it("renders several errors as a list and values the way Go prints them", () => {
    expect(
      formatValidationErrors([
        { field: "a", value: ["x", 1], reason: "r1" },
        { field: "b", reason: "r2" },
      ]),
    ).toBe("error with the following fields:\n-  a = '[x 1]' (r1)\n-  b (r2)\n");
  });

  it("has Calico's fallback text for an empty list", () => {
    expect(validate(applyDefaults(samples.IPPool!))).toEqual([]);
    expect(formatValidationErrors([])).toBe("unknown validation error");
  });
});
