import { describe, expect, it } from "vitest";
import {
  canonicalCIDR,
  cidrContains,
  cidrsOverlap,
  formatCIDR,
  isStrictlyMasked,
  parseCIDR,
  parseIP,
} from "../../src/lib/net.js";

describe("net", () => {
  it("parses only dotted-quad IPv4 and real IPv6", () => {
    expect(parseIP("10.0.0.1")).toEqual({ family: 4, value: 0x0a000001n });
    expect(parseIP("10.1")).toBeUndefined();
    expect(parseIP("0x0a.0.0.1")).toBeUndefined();
    expect(parseIP("fe80::1%eth0")).toBeUndefined();
    expect(parseIP("2001:db8::1")?.family).toBe(6);
    expect(parseIP("nonsense")).toBeUndefined();
  });

  it("parses CIDRs and bare IPs when allowed", () => {
    expect(parseCIDR("10.0.0.0/33")).toBeUndefined();
    expect(parseCIDR("10.0.0.1")).toBeUndefined();
    expect(parseCIDR("10.0.0.1", { allowBareIP: true })?.prefix).toBe(32);
    expect(parseCIDR("2001:db8::/129")).toBeUndefined();
  });

  it("knows masking, containment and overlap", () => {
    const c = (s: string) => parseCIDR(s)!;
    expect(isStrictlyMasked(c("10.0.0.0/24"))).toBe(true);
    expect(isStrictlyMasked(c("10.0.0.1/24"))).toBe(false);
    expect(cidrContains(c("10.0.0.0/16"), c("10.0.5.0/24"))).toBe(true);
    expect(cidrContains(c("10.0.5.0/24"), c("10.0.0.0/16"))).toBe(false);
    expect(cidrsOverlap(c("10.0.5.0/24"), c("10.0.0.0/16"))).toBe(true);
    expect(cidrsOverlap(c("10.1.0.0/16"), c("10.0.0.0/16"))).toBe(false);
    expect(cidrsOverlap(c("10.0.0.0/8"), c("2001:db8::/32"))).toBe(false);
  });

  it("formats canonically", () => {
    expect(formatCIDR(parseCIDR("10.0.0.7/24")!)).toBe("10.0.0.0/24");
    expect(canonicalCIDR("2001:0db8:0000::0001/128")).toBe("2001:db8::1/128");
    expect(canonicalCIDR("192.168.1.1")).toBe("192.168.1.1/32");
    expect(canonicalCIDR("bad")).toBeUndefined();
  });
});
