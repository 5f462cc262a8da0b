/** The lab's network options and layout, without a lab: validation, addresses, calico-node settings. */
import { describe, expect, it } from "vitest";
import { encapEnv, fabricBridges, nodeAddress, parseNetwork, usesBgp } from "../../src/lab/network.js";

describe("lab network options", () => {
  it("defaults to today's lab: one bridge, no encapsulation", () => {
    expect(parseNetwork({})).toEqual({ fabric: "l2", encap: "none", crossSubnet: false, subnets: 1 });
    expect(parseNetwork({ mtu: 9000 })).toMatchObject({ fabric: "l2", mtu: 9000 });
  });

  it("an L3 fabric spreads nodes over its subnets behind the router", () => {
    const net = parseNetwork({ fabric: "l3", encap: "vxlan", subnets: 3 });
    expect([1, 2, 3, 4].map((i) => nodeAddress(net, i).ip)).toEqual([
      "172.30.1.1",
      "172.30.2.2",
      "172.30.3.3",
      "172.30.1.4",
    ]);
    expect(nodeAddress(net, 5, 3)).toMatchObject({
      ip: "172.30.3.5",
      gateway: "172.30.3.254",
      bridge: "br3",
    });
    expect(fabricBridges(net).map((b) => b.gateway)).toEqual([
      "172.30.1.254/24",
      "172.30.2.254/24",
      "172.30.3.254/24",
    ]);
    expect(() => nodeAddress(net, 5, 4)).toThrow("--subnet must be between 1 and 3");
  });

  it("tells calico-node the backend and the default pool's mode", () => {
    expect(encapEnv(parseNetwork({ encap: "vxlan" }))).toEqual({
      CALICO_NETWORKING_BACKEND: "vxlan",
      CALICO_IPV4POOL_VXLAN: "Always",
    });
    expect(encapEnv(parseNetwork({ encap: "ipip", crossSubnet: true }))).toEqual({
      CALICO_IPV4POOL_IPIP: "CrossSubnet",
    });
    expect(usesBgp(parseNetwork({ encap: "vxlan" }))).toBe(false);
    expect(usesBgp(parseNetwork({ encap: "ipip" }))).toBe(true);
  });

  it.each([
    [{ fabric: "l4" }, "--fabric must be l2 or l3"],
    [{ encap: "gre" }, "--encap must be vxlan, ipip or none"],
    [{ crossSubnet: true }, "--cross-subnet needs --encap"],
    [{ subnets: 3 }, "--subnets needs --fabric l3"],
    [{ fabric: "l3", subnets: 9 }, "--subnets must be between 2 and 8"],
    [{ mtu: 65000 }, "--mtu must be between 1280 and 9000"],
  ])("refuses %j", (opts, message) => {
    expect(() => parseNetwork(opts)).toThrow(message);
  });
});
