import { describe, expect, it } from "vitest";
import { canonicalize, findUnknownFields, unknownFieldMessage } from "../../src/api/index.js";
import { resource } from "./samples.js";

describe("canonicalize", () => {
  it("orders the envelope, metadata and spec keys as Go serialises them", () => {
    const out = canonicalize({
      spec: { natOutgoing: true, cidr: "10.0.0.0/16", blockSize: 26 },
      metadata: {
        labels: { b: "2", a: "1" },
        uid: "u",
        name: "p",
        resourceVersion: "7",
        creationTimestamp: "t",
      },
      apiVersion: "projectcalico.org/v3",
      kind: "IPPool",
    });
    expect(Object.keys(out)).toEqual(["kind", "apiVersion", "metadata", "spec"]);
    expect(Object.keys(out.metadata)).toEqual([
      "name",
      "uid",
      "resourceVersion",
      "creationTimestamp",
      "labels",
    ]);
    expect(Object.keys(out.metadata.labels!)).toEqual(["a", "b"]);
    expect(Object.keys(out.spec as object)).toEqual(["cidr", "natOutgoing", "blockSize"]);
  });

  it("orders rule fields and drops empty source/destination and omitempty zero values", () => {
    const out = canonicalize(
      resource(
        "NetworkPolicy",
        "a",
        {
          types: ["Ingress"],
          ingress: [
            { destination: { ports: ["80"] }, source: {}, protocol: "6", action: "Allow", ipVersion: 4 },
          ],
          selector: "",
          tier: "default",
        },
        { namespace: "ns" },
      ),
    );
    expect(out.spec).toEqual({
      tier: "default",
      ingress: [{ action: "Allow", ipVersion: 4, protocol: 6, destination: { ports: [80] } }],
      types: ["Ingress"],
    });
    expect(Object.keys((out.spec as { ingress: object[] }).ingress[0]!)).toEqual([
      "action",
      "ipVersion",
      "protocol",
      "destination",
    ]);
  });

  it("canonicalises protocols, ports and AS numbers", () => {
    const out = canonicalize(
      resource("GlobalNetworkPolicy", "a", {
        egress: [
          { action: "Allow", protocol: "17", destination: { ports: ["53", "1000:2000", "dns", "7:7"] } },
          { action: "Allow", protocol: "UDPLite", notProtocol: "300" },
        ],
      }),
    );
    const egress = (out.spec as { egress: Record<string, unknown>[] }).egress;
    expect(egress[0]).toEqual({
      action: "Allow",
      protocol: 17,
      destination: { ports: [53, "1000:2000", "dns", 7] },
    });
    expect(egress[1]).toEqual({ action: "Allow", protocol: "UDPLite", notProtocol: "300" });
    const bgp = canonicalize(resource("BGPConfiguration", "default", { asNumber: "1.10" }));
    expect(bgp.spec).toEqual({ asNumber: 65546 });
  });

  it("keeps pointer fields that hold zero values but drops value-type zeros", () => {
    const fc = canonicalize(
      resource("FelixConfiguration", "default", {
        ipv6Support: false,
        failsafeInboundHostPorts: [],
        interfacePrefix: "",
      }),
    );
    expect(fc.spec).toEqual({ ipv6Support: false, failsafeInboundHostPorts: [], bpfLogLevel: "" });
  });

  it("always writes the fields Go has no omitempty on", () => {
    const wep = canonicalize(
      resource(
        "WorkloadEndpoint",
        "w",
        { ports: [{ name: "http", protocol: "TCP", port: 8080 }] },
        { namespace: "n" },
      ),
    );
    expect((wep.spec as { ports: unknown[] }).ports[0]).toEqual({
      name: "http",
      protocol: "TCP",
      port: 8080,
      hostPort: 0,
      hostIP: "",
    });
    expect(canonicalize(resource("Tier", "t", { order: 1 }))).toHaveProperty("status", {});
    expect(canonicalize(resource("IPPool", "p", { cidr: "10.0.0.0/8" }))).not.toHaveProperty("status");
    const ipam = canonicalize(resource("IPAMConfiguration", "default", { maxBlocksPerHost: 0 }));
    expect(ipam.spec).toEqual({ strictAffinity: false, autoAllocateBlocks: false });
  });

  it("re-prints durations the way Go's Duration.String does", () => {
    const fc = canonicalize(
      resource("FelixConfiguration", "default", {
        iptablesRefreshInterval: "90s",
        reportingInterval: "0s",
        routeRefreshInterval: "1.5h",
        netlinkTimeout: "500ms",
      }),
    );
    expect(fc.spec).toMatchObject({
      iptablesRefreshInterval: "1m30s",
      reportingInterval: "0s",
      routeRefreshInterval: "1h30m0s",
      netlinkTimeout: "500ms",
    });
  });

  it("drops unknown fields, as Go's decoder does, and leaves ill-typed values for validation", () => {
    const out = canonicalize(resource("IPPool", "p", { cidr: 7, bogus: 1 }));
    expect(out.spec).toEqual({ cidr: 7 });
  });

  it("deep-copies and never throws", () => {
    const input = resource("Profile", "p", { labelsToApply: { a: "b" } });
    const out = canonicalize(input);
    (out.spec as { labelsToApply: Record<string, string> }).labelsToApply.a = "changed";
    expect((input.spec as { labelsToApply: Record<string, string> }).labelsToApply.a).toBe("b");
    for (const junk of [null, 1, [], { kind: "Nope", b: 1, apiVersion: "v" }]) {
      expect(() => canonicalize(junk as never)).not.toThrow();
    }
    expect(Object.keys(canonicalize({ b: 1, kind: "Nope", apiVersion: "v" } as never))).toEqual([
      "kind",
      "apiVersion",
      "b",
    ]);
  });
});

describe("findUnknownFields", () => {
  it("returns the dotted path of every field the kind does not define", () => {
    const paths = findUnknownFields({
      apiVersion: "projectcalico.org/v3",
      kind: "NetworkPolicy",
      metadata: { name: "a", namespace: "n", labels: { anything: "goes" }, colour: "red" },
      spec: {
        selector: "all()",
        ingress: [
          { action: "Allow", source: { nets: ["10.0.0.0/8"], netz: [] } },
          { action: "Deny", actoin: "x" },
        ],
        doNotTrack: true,
      },
      extra: 1,
    });
    expect(paths).toEqual([
      "metadata.colour",
      "spec.ingress[0].source.netz",
      "spec.ingress[1].actoin",
      "spec.doNotTrack",
      "extra",
    ]);
  });

  it("accepts every FelixConfiguration field name", () => {
    const fields = [
      "nodeSelector",
      "bpfLogLevel",
      "bpfMapSizePerCpuConntrack",
      "externalNodesList",
      "wireguardKeepAlive",
      "bpfConntrackMode",
      "bpfMaglevMaxServices",
    ];
    const spec = Object.fromEntries(fields.map((f) => [f, "x"]));
    expect(findUnknownFields(resource("FelixConfiguration", "x", { ...spec, ipInIpEnabled: true }))).toEqual([
      "spec.ipInIpEnabled",
    ]);
  });

  it("words the error as calicoctl does and ignores unknown kinds", () => {
    expect(unknownFieldMessage("spec.foo")).toBe(
      "field in document is not recognized or is in the wrong location: spec.foo",
    );
    expect(findUnknownFields({ kind: "Nope", x: 1 })).toEqual([]);
    expect(findUnknownFields(null)).toEqual([]);
  });
});
