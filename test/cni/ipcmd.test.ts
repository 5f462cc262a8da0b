import { describe, expect, it } from "vitest";
import {
  containerConfigScript,
  containerCreateScript,
  containerRouteBatch,
  containerSetupScript,
  hostLinkBatch,
  hostRouteArgs,
  hostRouteDestination,
  hostSetupBatch,
  hostSysctls,
  parseBatchFailures,
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
  it("creates the pair from the container with the peer, Calico's MAC set, sent to the host's namespace", () => {
    expect(vethCreateBatch(plan, 4242)).toBe(
      'link add name "eth0" mtu 1440 numtxqueues 2 numrxqueues 2 type veth peer name "caliabc123" mtu 1440 numtxqueues 2 numrxqueues 2 address ee:ee:ee:ee:ee:ee netns 4242\n',
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

  it("IPv6 containers: create, IPv6 sysctls, link-up; then routes via the host link-local", () => {
    const create = containerCreateScript(dual, 4242);
    expect(create.indexOf("link add")).toBeLessThan(create.indexOf("accept_dad"));
    expect(create.indexOf("accept_dad")).toBeLessThan(create.indexOf("link set"));
    expect(create).toContain("echo 0 > '/proc/sys/net/ipv6/conf/lo/disable_ipv6'");
    const cfg = containerConfigScript({ ...dual, allowIpForwarding: true }, "fe80::1");
    expect(cfg).toContain("route add ::/0 via fe80::1");
    expect(cfg).toContain("echo 1 > '/proc/sys/net/ipv6/conf/all/forwarding'");
    expect(cfg).toContain("echo 1 > '/proc/sys/net/ipv4/ip_forward'");
  });

  it("IPv4-only containers: one ip batch (create, link-up, routes, addresses, report), forwarding off", () => {
    const one = containerSetupScript(plan, 4242)!;
    expect(one.match(/set -e/g)).toHaveLength(1);
    // One ip process, JSON output for the link report.
    expect(one.match(/^ip /gm)).toEqual(["ip "]);
    expect(one).toContain("ip -j -batch - <<'CALICO_TS_EOF'\n");
    const batch = one.slice(
      one.indexOf("\n", one.indexOf("<<")) + 1,
      one.indexOf("CALICO_TS_EOF\n", one.indexOf("<<") + 20),
    );
    expect(batch).toBe(
      vethCreateBatch(plan, 4242) +
        'link set dev "eth0" up\n' +
        containerRouteBatch(plan) +
        'link show dev "eth0"\n',
    );
    expect(one.trimEnd().endsWith("echo 0 > '/proc/sys/net/ipv4/ip_forward'")).toBe(true);
    expect(one).not.toContain("ipv6");
    expect(containerSetupScript({ ...plan, allowIpForwarding: true }, 1)).toContain("echo 1 > ");
    // IPv6 routes need the host side's link-local address, known only after link-up.
    expect(containerSetupScript(dual, 4242)).toBeUndefined();
  });

  it("host side: link-up, a link-scoped route per address, then the link report", () => {
    expect(hostSetupBatch("caliX", ["10.65.0.5/32", "fd00::5/128"])).toBe(
      [
        'link set dev "caliX" up',
        'route add 10.65.0.5/32 dev "caliX" scope link',
        'route add fd00::5/128 dev "caliX" scope link',
        'link show dev "caliX"',
        "",
      ].join("\n"),
    );
    expect(hostRouteDestination('route add fd00::5/128 dev "caliX" scope link')).toBe("fd00::5/128");
    expect(hostRouteDestination('link set dev "caliX" up')).toBeUndefined();
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
  it("splits ip -batch stderr into the lines that failed and their messages", () => {
    const stderr = [
      "RTNETLINK answers: File exists",
      "Command failed -:2",
      "Error: Nexthop device is not up.",
      "Command failed -:3",
      "",
    ].join("\n");
    expect(parseBatchFailures(stderr)).toEqual([
      { line: 2, message: "RTNETLINK answers: File exists" },
      { line: 3, message: "Error: Nexthop device is not up." },
    ]);
    expect(parseBatchFailures("Cannot open network namespace\n")).toEqual([]);
  });

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
