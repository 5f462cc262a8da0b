import { describe, expect, it } from "vitest";
import {
  applyDefaults,
  poolOverlapErrors,
  poolsOverlap,
  validate,
  validateUpdate,
} from "../../src/api/index.js";
import { resource, summary } from "./samples.js";

const pool = (spec: Record<string, unknown>) =>
  summary(validate(applyDefaults(resource("IPPool", "p", spec))));

describe("validate: IPPool", () => {
  it("requires a parseable, strictly masked CIDR", () => {
    expect(pool({ cidr: "10.0.0.0/24" })).toEqual([]);
    expect(pool({})).toEqual(["spec.cidr: IPPool CIDR must be specified"]);
    expect(pool({ cidr: "10.0.0.0" })).toEqual(["spec.cidr: IPPool CIDR must be a valid subnet"]);
    expect(pool({ cidr: "10.0.0.1/24" })).toEqual(["spec.cidr: IPPool CIDR is not strictly masked"]);
  });

  it("rejects link-local overlap in either direction", () => {
    expect(pool({ cidr: "169.254.1.0/24" })).toEqual([
      "spec.cidr: IPPool CIDR overlaps with IPv4 link local range 169.254.0.0/16",
    ]);
    expect(pool({ cidr: "169.0.0.0/8", blockSize: 26 })).toEqual([
      "spec.cidr: IPPool CIDR overlaps with IPv4 link local range 169.254.0.0/16",
    ]);
    expect(pool({ cidr: "fe80::/64" })).toEqual([
      "spec.cidr: IPPool CIDR overlaps with IPv6 link local range fe80::/10",
    ]);
  });

  it("checks block sizes against the family and the pool size", () => {
    const range =
      "spec.blockSize: blockSize must be between 20 and 32 for IPv4 pools, and between 116 and 128 for IPv6 pools";
    expect(pool({ cidr: "10.0.0.0/16", blockSize: 19 })).toEqual([range]);
    const tooSmall =
      "spec.cidr: IP pool size is too small for use with Calico IPAM. It must be equal to or greater than the block size.";
    expect(pool({ cidr: "fd00::/64", blockSize: 26 })).toEqual([range, tooSmall]);
    expect(pool({ cidr: "fd00::/64", blockSize: 120 })).toEqual([]);
    expect(pool({ cidr: "10.0.0.0/28" })).toEqual([tooSmall]);
    expect(pool({ cidr: "10.0.0.0/28", disabled: true })).toEqual([]);
  });

  it("checks encapsulation modes", () => {
    expect(pool({ cidr: "10.0.0.0/16", ipipMode: "Always", vxlanMode: "CrossSubnet" })).toEqual([
      "spec.vxlanMode: ipipMode and vxlanMode cannot both be enabled",
    ]);
    expect(pool({ cidr: "fd00::/64", ipipMode: "Always" })).toEqual([
      "spec.ipipMode: IPIP is not supported on IPv6 pools",
    ]);
    expect(pool({ cidr: "fd00::/64", vxlanMode: "Always" })).toEqual([]);
  });

  it("checks allowed uses and their combinations", () => {
    expect(pool({ cidr: "10.0.0.0/16", allowedUses: ["Workload", "Magic"] })).toEqual([
      "spec.allowedUses: unknown use: Magic",
    ]);
    expect(pool({ cidr: "10.0.0.0/16", allowedUses: ["LoadBalancer"] })).toEqual([]);
    expect(
      pool({
        cidr: "10.0.0.0/16",
        allowedUses: ["LoadBalancer", "Workload"],
        vxlanMode: "Always",
        disableBGPExport: true,
        nodeSelector: "zone == 'a'",
      }),
    ).toEqual([
      "spec.allowedUses: LoadBalancer IP pool cannot have IPIP or VXLAN enabled",
      "spec.allowedUses: LoadBalancer cannot be combined with Workload or Tunnel allowed uses",
      "spec.disableBGPExport: LoadBalancer IP pools cannot disable BGP export",
      "spec.nodeSelector: IP Pool with AllowedUse LoadBalancer must have nodeSelector set to all()",
    ]);
    // The defaulted allowedUses include Tunnel, so a namespaceSelector needs explicit uses.
    expect(pool({ cidr: "10.0.0.0/16", namespaceSelector: "team == 'a'" })).toEqual([
      "spec.namespaceSelector: IP Pool with AllowedUse Tunnel cannot have namespaceSelector",
    ]);
    expect(
      pool({ cidr: "10.0.0.0/16", namespaceSelector: "team == 'a'", allowedUses: ["Workload"] }),
    ).toEqual([]);
  });

  it("rejects global() in pool selectors", () => {
    expect(pool({ cidr: "10.0.0.0/16", nodeSelector: "global()" })).toEqual([
      "spec.nodeSelector: global() selector is not valid for IPPool nodeSelector",
    ]);
  });
});

describe("pool overlap (for the client layer)", () => {
  it("detects overlap and words it as Calico does", () => {
    expect(poolsOverlap("10.0.0.0/16", "10.0.128.0/24")).toBe(true);
    expect(poolsOverlap("10.0.0.0/16", "10.1.0.0/16")).toBe(false);
    expect(poolsOverlap("10.0.0.0/16", "fd00::/8")).toBe(false);
    expect(
      poolOverlapErrors({ name: "new", cidr: "10.0.0.0/16" }, [
        { name: "new", cidr: "10.0.0.0/16" },
        { name: "old", cidr: "10.0.0.0/8" },
        { name: "other", cidr: "192.168.0.0/16" },
      ]),
    ).toEqual([
      {
        field: "spec.cidr",
        value: "10.0.0.0/16",
        reason: "IPPool(new) CIDR overlaps with IPPool(old) CIDR 10.0.0.0/8",
      },
    ]);
  });
});

describe("validate: IPReservation and IPAMConfiguration", () => {
  it("accepts CIDRs with host bits but not garbage", () => {
    expect(
      summary(validate(resource("IPReservation", "r", { reservedCIDRs: ["10.0.0.5/24", "x"] }))),
    ).toEqual(["spec.reservedCIDRs[1]: invalid CIDR"]);
  });

  it("bounds maxBlocksPerHost", () => {
    const ipam = (spec: Record<string, unknown>) =>
      summary(validate(applyDefaults(resource("IPAMConfiguration", "default", spec))));
    expect(ipam({ maxBlocksPerHost: -1 })).toEqual([
      "spec.maxBlocksPerHost: should be greater than or equal to 0",
    ]);
    expect(ipam({ kubeVirtVMAddressPersistence: "Maybe" })).toEqual([
      'spec.kubeVirtVMAddressPersistence: supported values: "Enabled", "Disabled"',
    ]);
  });
});

describe("validateUpdate: IPPool immutability", () => {
  const stored = applyDefaults(resource("IPPool", "p", { cidr: "10.0.0.0/16" }));
  const change = (spec: Record<string, unknown>) =>
    summary(validateUpdate(stored, applyDefaults(resource("IPPool", "p", { ...stored.spec, ...spec }))));

  it("allows changes to mutable fields", () => {
    expect(change({ natOutgoing: true, disabled: true })).toEqual([]);
  });

  it("refuses CIDR and block size changes", () => {
    expect(change({ cidr: "10.1.0.0/16", blockSize: 24 })).toEqual([
      "spec.cidr: IPPool CIDR cannot be modified",
      "spec.blockSize: IPPool BlockSize cannot be modified",
    ]);
  });

  it("allows re-spelling a CIDR only into its canonical form", () => {
    const v6 = resource("IPPool", "v6", { cidr: "fd00:0::/48", blockSize: 122 });
    expect(validateUpdate(v6, resource("IPPool", "v6", { cidr: "fd00::/48", blockSize: 122 }))).toEqual([]);
    expect(
      summary(validateUpdate(v6, resource("IPPool", "v6", { cidr: "fd00:0:0::/48", blockSize: 122 }))),
    ).toEqual(["spec.cidr: IPPool CIDR cannot be modified"]);
  });

  it("refuses turning a LoadBalancer pool into a workload pool", () => {
    const lb = resource("IPPool", "lb", { cidr: "10.0.0.0/16", allowedUses: ["LoadBalancer"] });
    expect(
      summary(
        validateUpdate(lb, resource("IPPool", "lb", { cidr: "10.0.0.0/16", allowedUses: ["Workload"] })),
      ),
    ).toEqual([
      "spec.allowedUses: IPPool allowed use cannot be changed from LoadBalacer to Workload or Tunnel",
    ]);
  });
});
