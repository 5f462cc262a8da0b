/** Output building blocks: tabwriter layout, Go value formatting, YAML key order, formats. */
import { describe, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { goFloat, goJoin, goValue } from "../../src/calicoctl/output/gofmt.js";
import { parseOutputFormat, render } from "../../src/calicoctl/output/printer.js";
import { toJSON, toYAML, yamlKeyCompare } from "../../src/calicoctl/output/serialize.js";
import { formatTable } from "../../src/calicoctl/output/table.js";

const noAS = async () => "64512";

describe("formatTable", () => {
  it("pads every cell to the widest in its column plus three, at least five", () => {
    expect(
      formatTable([
        ["NAME", "A"],
        ["x", ""],
      ]),
    ).toBe("NAME   A    \nx           \n");
  });

  it("measures characters, not bytes", () => {
    expect(formatTable([["é", "z"]])).toBe("é    z    \n");
  });
});

describe("Go formatting", () => {
  it.each([
    [1000, "1000"],
    [100000, "100000"],
    [1000000, "1e+06"],
    [10000000, "1e+07"],
    [1500000, "1.5e+06"],
    [100.5, "100.5"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [0, "0"],
    [-2500000, "-2.5e+06"],
  ])("%%v of float64 %d is %s", (n, text) => {
    expect(goFloat(n)).toBe(text);
  });

  it("renders unset pointers, structs and lists like Go", () => {
    expect(goValue(undefined)).toBe("<nil>");
    expect(goValue({ internalIP: "10.0.0.1", externalIP: "1.2.3.4" })).toBe("{10.0.0.1 1.2.3.4}");
    expect(goValue(["a", 1])).toBe("[a 1]");
  });

  it("joins lists and sorted maps, truncating to 80 characters with ...", () => {
    expect(goJoin({ b: "2", a: "1" }, ",")).toBe("a=1,b=2");
    const long = goJoin(
      Array.from({ length: 20 }, (_, i) => `10.0.${i}.0/24`),
      ",",
      80,
    );
    expect(long).toHaveLength(80);
    expect(long.endsWith("...")).toBe(true);
    expect(goJoin(undefined, ",")).toBe("");
  });
});

describe("serialisation", () => {
  it("orders YAML keys as Go's yaml.v2 does", () => {
    const keys = ["b", "a10", "a9", "_x", "Z", "a", "a-b"];
    expect([...keys].sort(yamlKeyCompare)).toEqual(["_x", "Z", "a", "a-b", "a9", "a10", "b"]);
  });

  it("writes YAML with sequences at the parent's indentation and ambiguous strings quoted", () => {
    expect(
      toYAML({
        spec: { ports: [80], b: "yes", a: "2026-01-01T00:00:00Z", c: "all()" },
        metadata: { resourceVersion: "12" },
      }),
    ).toBe(
      'metadata:\n  resourceVersion: "12"\nspec:\n  a: "2026-01-01T00:00:00Z"\n  b: "yes"\n  c: all()\n  ports:\n  - 80\n',
    );
  });

  it("writes JSON indented by two, escaping like Go, without a trailing newline", () => {
    expect(toJSON({ selector: "a == 'b' && c > 1" })).toBe(
      '{\n  "selector": "a == \'b\' \\u0026\\u0026 c \\u003e 1"\n}',
    );
  });
});

describe("output formats", () => {
  const pool: Resource = {
    apiVersion: "projectcalico.org/v3",
    kind: "IPPool",
    metadata: { name: "p" },
    spec: { cidr: "10.0.0.0/24", nodeSelector: "all()" },
  };

  it("parses every -o value and refuses others", () => {
    expect(parseOutputFormat("yml")).toEqual({ type: "yaml" });
    expect(parseOutputFormat("wide")).toEqual({ type: "table", wide: true });
    expect(parseOutputFormat("custom-columns=name,cidr")).toEqual({
      type: "custom",
      headings: ["NAME", "CIDR"],
    });
    expect(() => parseOutputFormat("custom-columns=")).toThrow("invalid output format: custom-columns=");
    expect(() => parseOutputFormat("table")).toThrow("unrecognized output format 'table'");
  });

  it("prints IPIP/VXLAN modes as Never when unset and the assignment mode pointer as <nil>", async () => {
    const text = await render([pool], {
      format: { type: "table", wide: true },
      printNamespace: false,
      defaultASNumber: noAS,
    });
    expect(text.split("\n")[1]).toBe(
      "p      10.0.0.0/24   false   Never      Never       false      false              all()      <nil>            ",
    );
  });

  it("renders a WorkloadEndpoint list with the namespace column", async () => {
    const wep: Resource = {
      apiVersion: "projectcalico.org/v3",
      kind: "WorkloadEndpoint",
      metadata: { name: "n1-k8s-pod-eth0", namespace: "prod" },
      spec: { node: "n1", pod: "pod", ipNetworks: ["10.1.0.5/32", "fd00::5/128"], interfaceName: "cali1" },
    };
    const list = {
      apiVersion: "projectcalico.org/v3",
      kind: "WorkloadEndpointList",
      metadata: { resourceVersion: "9" },
      items: [wep],
    };
    const text = await render([list], {
      format: { type: "table", wide: false },
      printNamespace: true,
      defaultASNumber: noAS,
    });
    expect(text).toBe(
      "NAMESPACE   WORKLOAD   NODE   NETWORKS                  INTERFACE   \n" +
        "prod        pod        n1     10.1.0.5/32,fd00::5/128   cali1       \n\n",
    );
  });
});
