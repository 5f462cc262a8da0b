import { describe, expect, it } from "vitest";
import { type CniResult, formatResult, parseResult } from "../../src/cni/result.js";

const result: CniResult = {
  interfaces: [
    { name: "caliabc" },
    { name: "eth0", mac: "aa:bb:cc:dd:ee:ff", mtu: 1440, sandbox: "/var/run/netns/x" },
  ],
  ips: [
    { address: "10.65.79.5/32", interface: 1 },
    { address: "fd00::5/128", interface: 1 },
  ],
  routes: [{ dst: "10.65.79.5/26" }, { dst: "fd00::5/122" }],
  dns: {},
};

describe("result formats", () => {
  it("1.0.0: no per-IP version, interface MTU kept, empty dns object", () => {
    expect(formatResult(result, "1.0.0")).toEqual({
      cniVersion: "1.0.0",
      interfaces: [
        { name: "caliabc" },
        { name: "eth0", mac: "aa:bb:cc:dd:ee:ff", mtu: 1440, sandbox: "/var/run/netns/x" },
      ],
      ips: [
        { interface: 1, address: "10.65.79.5/32" },
        { interface: 1, address: "fd00::5/128" },
      ],
      routes: [{ dst: "10.65.79.5/26" }, { dst: "fd00::5/122" }],
      dns: {},
    });
  });

  it("0.3.1 and 0.4.0: version per IP, no interface MTU", () => {
    for (const v of ["0.3.0", "0.3.1", "0.4.0"]) {
      const out = formatResult(result, v) as { ips: { version: string }[]; interfaces: { mtu?: number }[] };
      expect(out.ips.map((i) => i.version)).toEqual(["4", "6"]);
      expect(out.interfaces[1]?.mtu).toBeUndefined();
    }
  });

  it("0.2.0: ip4/ip6 objects with their own routes", () => {
    expect(formatResult(result, "0.2.0")).toEqual({
      cniVersion: "0.2.0",
      ip4: { ip: "10.65.79.5/32", routes: [{ dst: "10.65.79.5/26" }] },
      ip6: { ip: "fd00::5/128", routes: [{ dst: "fd00::5/122" }] },
      dns: {},
    });
  });

  it("reads back every version it writes", () => {
    for (const v of ["0.2.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]) {
      const back = parseResult(formatResult(result, v));
      expect(back.ips.map((i) => i.address)).toEqual(["10.65.79.5/32", "fd00::5/128"]);
      expect(back.routes).toEqual(result.routes);
    }
  });

  it("reads host-local's 0.4.0 result with gateway", () => {
    const back = parseResult({
      cniVersion: "0.4.0",
      ips: [{ version: "4", address: "10.0.0.2/8", gateway: "10.0.0.1" }],
      dns: { nameservers: ["1.1.1.1"] },
    });
    expect(back.ips).toEqual([{ address: "10.0.0.2/8", gateway: "10.0.0.1" }]);
    expect(back.dns.nameservers).toEqual(["1.1.1.1"]);
  });

  it("rejects results without string addresses", () => {
    expect(() => parseResult({ ips: [{ address: 5 }] })).toThrow("ips[0].address must be a string");
    expect(() => parseResult("x")).toThrow("not a JSON object");
  });
});
