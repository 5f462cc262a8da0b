import { describe, expect, it } from "vitest";
import {
  AutodetectError,
  chooseAddress,
  defaultIPv6Pool,
  defaultPool,
  type InterfaceAddrs,
  nodeNameFrom,
  parseMethod,
  randomUlaCidr,
  StartupError,
} from "../../src/node/index.js";

const ifaces: InterfaceAddrs[] = [
  { ifindex: 1, ifname: "lo", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }] },
  {
    ifindex: 2,
    ifname: "eth0",
    addr_info: [
      { family: "inet", local: "10.0.0.5", prefixlen: 24 },
      { family: "inet6", local: "fe80::1", prefixlen: 64 },
    ],
  },
  {
    ifindex: 3,
    ifname: "eth1",
    addr_info: [
      { family: "inet", local: "192.168.7.9", prefixlen: 16 },
      { family: "inet6", local: "fd00::9", prefixlen: 64 },
    ],
  },
  { ifindex: 4, ifname: "cali1234", addr_info: [{ family: "inet", local: "10.65.0.1", prefixlen: 32 }] },
  { ifindex: 5, ifname: "docker0", addr_info: [{ family: "inet", local: "172.17.0.1", prefixlen: 16 }] },
];

describe("IP autodetection", () => {
  it("first-found skips Calico's default exclusions and walks interfaces in reverse index order", () => {
    expect(chooseAddress(ifaces, 4, parseMethod(undefined))).toBe("192.168.7.9/16");
    expect(chooseAddress(ifaces, 6, parseMethod("first-found"))).toBe("fd00::9/64");
  });

  it("supports interface=, skip-interface=, cidr= and can-reach=", () => {
    expect(chooseAddress(ifaces, 4, parseMethod("interface=eth0"))).toBe("10.0.0.5/24");
    expect(chooseAddress(ifaces, 4, parseMethod("skip-interface=eth1, eth9"))).toBe("10.0.0.5/24");
    expect(chooseAddress(ifaces, 4, parseMethod("cidr=10.0.0.0/24"))).toBe("10.0.0.5/24");
    expect(chooseAddress(ifaces, 4, parseMethod("can-reach=10.0.0.1"), "10.0.0.5")).toBe("10.0.0.5/24");
    expect(chooseAddress(ifaces, 4, parseMethod("interface=nothing"))).toBeUndefined();
  });

  it("refuses unknown methods and bad arguments by name", () => {
    expect(() => parseMethod("magic")).toThrow(
      new AutodetectError("invalid IP autodetection method 'magic'"),
    );
    expect(() => parseMethod("cidr=10.0.0.0/40")).toThrow(/invalid CIDR '10.0.0.0\/40'/);
    expect(() => parseMethod("can-reach=")).toThrow(/needs a destination/);
  });
});

describe("start-up settings", () => {
  it("takes the node name from NODENAME, then the file, then HOSTNAME", () => {
    expect(nodeNameFrom({ NODENAME: "a", HOSTNAME: "B" }, () => "f")).toBe("a");
    expect(nodeNameFrom({ HOSTNAME: "B" }, () => "from-file\n")).toBe("from-file");
    expect(nodeNameFrom({ HOSTNAME: "Big" }, () => undefined)).toBe("big");
  });

  it("builds the default pools from the environment and rejects bad values by name", () => {
    const p = defaultPool(
      { CALICO_IPV4POOL_CIDR: "10.70.0.0/16", CALICO_IPV4POOL_IPIP: "cross-subnet" },
      4,
      "192.168.0.0/16",
    );
    expect(p?.spec).toMatchObject({
      cidr: "10.70.0.0/16",
      blockSize: 26,
      ipipMode: "CrossSubnet",
      natOutgoing: true,
    });
    expect(defaultPool({ CALICO_IPV4POOL_CIDR: "none" }, 4, "192.168.0.0/16")).toBeUndefined();
    expect(() => defaultPool({ CALICO_IPV4POOL_BLOCK_SIZE: "40" }, 4, "192.168.0.0/16")).toThrow(
      new StartupError("invalid CALICO_IPV4POOL_BLOCK_SIZE '40': must be between 20 and 32"),
    );
    expect(() => defaultPool({ CALICO_IPV4POOL_IPIP: "sometimes" }, 4, "192.168.0.0/16")).toThrow(
      /CALICO_IPV4POOL_IPIP/,
    );
    expect(() => defaultPool({ CALICO_IPV4POOL_NODE_SELECTOR: "a ==" }, 4, "192.168.0.0/16")).toThrow(
      /NODE_SELECTOR/,
    );
  });

  it("makes the IPv6 default pool from CALICO_IPV6POOL_* or a random ULA /48, unless IPv6 is off", () => {
    const p = defaultIPv6Pool(
      {
        CALICO_IPV6POOL_CIDR: "fd10:244::/112",
        CALICO_IPV6POOL_BLOCK_SIZE: "120",
        CALICO_IPV6POOL_NAT_OUTGOING: "true",
      },
      true,
    );
    expect(p?.metadata.name).toBe("default-ipv6-ippool");
    expect(p?.spec).toMatchObject({
      cidr: "fd10:244::/112",
      blockSize: 120,
      natOutgoing: true,
      ipipMode: "Never",
    });
    expect(defaultIPv6Pool({}, true)?.spec).toMatchObject({ blockSize: 122, natOutgoing: false });
    const ula = String((defaultIPv6Pool({}, true)?.spec as { cidr?: string } | undefined)?.cidr);
    expect(ula).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
    expect(randomUlaCidr(Buffer.from([1, 2, 3, 4, 5]))).toBe("fd01:203:405::/48");
    expect(defaultIPv6Pool({ FELIX_IPV6SUPPORT: "false" }, true)).toBeUndefined();
    expect(defaultIPv6Pool({}, false)).toBeUndefined();
    expect(defaultIPv6Pool({ CALICO_IPV6POOL_CIDR: "none" }, true)).toBeUndefined();
    expect(() => defaultIPv6Pool({ CALICO_IPV6POOL_CIDR: "10.0.0.0/8" }, true)).toThrow(
      new StartupError("invalid CALICO_IPV6POOL_CIDR '10.0.0.0/8'"),
    );
    expect(() => defaultIPv6Pool({ CALICO_IPV6POOL_BLOCK_SIZE: "100" }, true)).toThrow(
      new StartupError("invalid CALICO_IPV6POOL_BLOCK_SIZE '100': must be between 116 and 128"),
    );
  });
});
