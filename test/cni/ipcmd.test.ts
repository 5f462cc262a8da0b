import { describe, expect, it } from "vitest";
import {
  containerConfigScript,
  containerRouteBatch,
  containerSetupScript,
  containerUpScript,
  hostLinkBatch,
  hostRouteArgs,
  hostSysctls,
  parseLinkJson,
  parseLinkLocal,
  parseProcNetDev,
  parseRouteDevs,
  shq,
  type VethPlan,
  vethCreateBatch,
} from "../../src/cni/ipcmd.js";

const plan: VethPlan = {
  netns: "/var/run/netns/c1",
  ifname: "eth0",
  hostIfname: "caliabc123",
  mtu: 1440,
  numQueues: 2,
  addresses: ["10.65.0.5/32"],
  routes: ["0.0.0.0/0"],
  allowIpForwarding: false,
};
const dual: VethPlan = { ...plan, addresses: ["10.65.0.5/32", "fd00::5/128"], routes: ["0.0.0.0/0", "::/0"] };

describe("veth commands", () => {
  it("creates the pair from the container with the peer sent to the host's namespace", () => {
    expect(vethCreateBatch(plan, 4242)).toBe(
      'link add name "eth0" mtu 1440 numtxqueues 2 numrxqueues 2 type veth peer name "caliabc123" mtu 1440 numtxqueues 2 numrxqueues 2 netns 4242\n',
    );
  });

  it("sets the MAC before bringing the host side up", () => {
    expect(hostLinkBatch("caliabc123")).toBe(
      'link set dev "caliabc123" address ee:ee:ee:ee:ee:ee\nlink set dev "caliabc123" up\n',
    );
  });

  it("host sysctls follow the address families", () => {
    const v4 = hostSysctls("caliX", { v4: true, v6: false }).map((s) => `${s.path}=${s.value}`);
    expect(v4).toEqual([
      "/proc/sys/net/ipv4/conf/caliX/route_localnet=1",
      "/proc/sys/net/ipv4/neigh/caliX/proxy_delay=0",
      "/proc/sys/net/ipv4/conf/caliX/proxy_arp=1",
      "/proc/sys/net/ipv4/conf/caliX/forwarding=1",
      "/proc/sys/net/ipv6/conf/caliX/accept_ra=0",
    ]);
    const v6 = hostSysctls("caliX", { v4: false, v6: true });
    expect(v6.map((s) => s.path)).toContain("/proc/sys/net/ipv6/conf/caliX/proxy_ndp");
    expect(v6.find((s) => s.path.endsWith("accept_ra"))?.optional).toBe(true);
  });

  it("routes via 169.254.1.1 (IPv4) and the host link-local (IPv6), then addresses", () => {
    expect(containerRouteBatch(dual, "fe80::ecee:eeff:feee:eeee")).toBe(
      [
        'route add 169.254.1.1/32 dev "eth0" scope link',
        'route add 0.0.0.0/0 via 169.254.1.1 dev "eth0"',
        'route add ::/0 via fe80::ecee:eeff:feee:eeee dev "eth0"',
        'addr add 10.65.0.5/32 dev "eth0"',
        'addr add fd00::5/128 dev "eth0"',
        "",
      ].join("\n"),
    );
  });

  it("container scripts: IPv6 sysctls before link-up, forwarding off unless allowed", () => {
    const up = containerUpScript(dual);
    expect(up.indexOf("accept_dad")).toBeLessThan(up.indexOf("link set"));
    expect(containerUpScript(plan)).not.toContain("ipv6");
    const cfg = containerConfigScript(plan);
    expect(cfg).toContain("echo 0 > '/proc/sys/net/ipv4/ip_forward'");
    expect(cfg).not.toContain("ipv6/conf/all/forwarding");
    expect(containerConfigScript({ ...dual, allowIpForwarding: true }, "fe80::1")).toContain(
      "echo 1 > '/proc/sys/net/ipv6/conf/all/forwarding'",
    );
  });

  it("IPv4-only containers are set up by one script: link-up, then routes and addresses", () => {
    const one = containerSetupScript(plan)!;
    expect(one.match(/set -e/g)).toHaveLength(1);
    expect(one.indexOf("link set")).toBeLessThan(one.indexOf("route add"));
    expect(one).toContain(containerRouteBatch(plan));
    expect(one.trimEnd().endsWith(`ip -j link show dev 'eth0'`)).toBe(true);
    // IPv6 routes need the host side's link-local address, known only after link-up.
    expect(containerSetupScript(dual)).toBeUndefined();
  });

  it("quotes for the shell", () => {
    expect(shq("a'b")).toBe(`'a'\\''b'`);
  });

  it("host route is link-scoped on the host interface", () => {
    expect(hostRouteArgs("10.65.0.5/32", "caliX")).toEqual([
      "route",
      "add",
      "10.65.0.5/32",
      "dev",
      "caliX",
      "scope",
      "link",
    ]);
  });
});

describe("kernel output parsers", () => {
  it("lists links from /proc/net/dev", () => {
    const text = "Inter-|   Receive\n face |bytes\n    lo:       0       0\ncaliabc123: 1 2 3\n  eth0: 5\n";
    expect(parseProcNetDev(text)).toEqual(["lo", "caliabc123", "eth0"]);
  });

  it("finds a link-local address in /proc/net/if_inet6", () => {
    const text = [
      "fd000000000000000000000000000005 02 80 00 80     eth0",
      "fe80000000000000eceeeefffeeeeeee 05 40 20 80 caliabc123",
    ].join("\n");
    expect(parseLinkLocal(text, "caliabc123")).toBe("fe80::ecee:eeff:feee:eeee");
    expect(parseLinkLocal(text, "eth0")).toBeUndefined();
  });

  it("reads ip -j link and route output", () => {
    const link = parseLinkJson(
      '[{"ifname":"eth0","address":"aa:bb:cc:dd:ee:ff","mtu":1440,"flags":["BROADCAST","UP"]}]',
    );
    expect(link).toEqual({ ifname: "eth0", mac: "aa:bb:cc:dd:ee:ff", mtu: 1440, up: true });
    expect(parseLinkJson("garbage")).toBeUndefined();
    expect(parseRouteDevs('[{"dst":"10.0.0.1","dev":"caliX"}]')).toEqual(["caliX"]);
  });
});
