/**
 * Pure construction of the iproute2 commands, shell scripts and sysctl writes that plumb a
 * workload interface, and parsers for what the kernel reports back. Nothing here runs a process,
 * so every command Calico's dataplane needs can be checked in unit tests.
 */

/** Felix and the pods rely on this fixed MAC; proxy ARP answers from it. */
export const HOST_MAC = "ee:ee:ee:ee:ee:ee";
/** The gateway every IPv4 pod route points at; never assigned, answered by proxy ARP. */
export const IPV4_GATEWAY = "169.254.1.1";
/** What the kernel derives from HOST_MAC in EUI-64 mode. */
export const EXPECTED_HOST_LINK_LOCAL = "fe80::ecee:eeff:feee:eeee";

export interface VethPlan {
  /** CNI_NETNS: a path to the container's network namespace. */
  netns: string;
  /** Container-side name (CNI_IFNAME). */
  ifname: string;
  hostIfname: string;
  mtu: number;
  numQueues: number;
  /** Addresses already narrowed to /32 or /128. */
  addresses: string[];
  /** Destinations to route via the host (e.g. `0.0.0.0/0`, `::/0`). */
  routes: string[];
  allowIpForwarding: boolean;
}

export interface Sysctl {
  path: string;
  value: string;
  /** Failure is logged, not fatal (the setting is absent on some kernels). */
  optional: boolean;
}

export const isV6 = (cidr: string): boolean => cidr.includes(":");

export function families(addresses: string[]): { v4: boolean; v6: boolean } {
  return { v4: addresses.some((a) => !isV6(a)), v6: addresses.some(isV6) };
}

/** Quoting for one `ip -batch` token; names with `"` or `\` are refused before this point. */
function bq(token: string): string {
  return `"${token}"`;
}

/** POSIX shell single-quoting. */
export function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Interface names must survive `ip -batch` quoting. */
export function batchSafeName(name: string): boolean {
  return !/["\\]/.test(name);
}

/** Runs `argv` inside the network namespace at `netns` (a path, either /var/run/netns/x or /proc/pid/ns/net). */
export function nsenterArgs(netns: string, argv: string[]): string[] {
  return [`--net=${netns}`, ...argv];
}

/**
 * Creates the pair from inside the container so the container side never exists in the host
 * namespace; the peer goes to the namespace of `hostPid` (this process). The host side gets
 * Calico's MAC in the same request: an address given at creation is one the kernel records as
 * set rather than random, which udev's MAC policy leaves alone.
 */
export function vethCreateBatch(plan: VethPlan, hostPid: number): string {
  const q = plan.numQueues;
  return `link add name ${bq(plan.ifname)} mtu ${plan.mtu} numtxqueues ${q} numrxqueues ${q} type veth peer name ${bq(plan.hostIfname)} mtu ${plan.mtu} numtxqueues ${q} numrxqueues ${q} address ${HOST_MAC} netns ${hostPid}\n`;
}

/** The host side's sysctls, as paths under /proc/sys (which show the writer's own namespace). */
export function hostSysctls(hostIfname: string, fam: { v4: boolean; v6: boolean }): Sysctl[] {
  const out: Sysctl[] = [];
  const v4 = `/proc/sys/net/ipv4/conf/${hostIfname}`;
  const v6 = `/proc/sys/net/ipv6/conf/${hostIfname}`;
  if (fam.v4) {
    out.push(
      { path: `${v4}/route_localnet`, value: "1", optional: false },
      { path: `/proc/sys/net/ipv4/neigh/${hostIfname}/proxy_delay`, value: "0", optional: true },
      { path: `${v4}/proxy_arp`, value: "1", optional: false },
      { path: `${v4}/forwarding`, value: "1", optional: false },
    );
  }
  if (fam.v6) {
    out.push(
      { path: `${v6}/accept_dad`, value: "0", optional: false },
      { path: `${v6}/disable_ipv6`, value: "0", optional: false },
      { path: `${v6}/proxy_ndp`, value: "1", optional: false },
      { path: `${v6}/forwarding`, value: "1", optional: false },
    );
  }
  out.push({ path: `${v6}/accept_ra`, value: "0", optional: true });
  return out;
}

/** MAC first: the kernel derives the IPv6 link-local address from the MAC when the link comes up. */
export function hostLinkBatch(hostIfname: string): string {
  return `link set dev ${bq(hostIfname)} address ${HOST_MAC}\nlink set dev ${bq(hostIfname)} up\n`;
}

function sysctlLine(path: string, value: string): string {
  return `echo ${value} > ${shq(path)}\n`;
}

/** `ip -batch` lines fed from a here-document, so one `ip` process runs them all. */
function ipBatch(lines: string, json = false): string {
  return `ip ${json ? "-j " : ""}-batch - <<'CALICO_TS_EOF'\n${lines}CALICO_TS_EOF\n`;
}

function linkUpLine(ifname: string): string {
  return `link set dev ${bq(ifname)} up\n`;
}

function linkShowLine(ifname: string): string {
  return `link show dev ${bq(ifname)}\n`;
}

/** The in-container routes and addresses as `ip -batch` lines. */
export function containerRouteBatch(plan: VethPlan, hostLinkLocal?: string): string {
  const dev = bq(plan.ifname);
  const fam = families(plan.addresses);
  let b = "";
  if (fam.v4) {
    b += `route add ${IPV4_GATEWAY}/32 dev ${dev} scope link\n`;
    for (const dst of plan.routes.filter((r) => !isV6(r)))
      b += `route add ${dst} via ${IPV4_GATEWAY} dev ${dev}\n`;
  }
  if (fam.v6 && hostLinkLocal) {
    for (const dst of plan.routes.filter(isV6)) b += `route add ${dst} via ${hostLinkLocal} dev ${dev}\n`;
  }
  for (const addr of plan.addresses) b += `addr add ${addr} dev ${dev}\n`;
  return b;
}

function forwardingLines(plan: VethPlan): string {
  const fam = families(plan.addresses);
  const forwarding = plan.allowIpForwarding ? "1" : "0";
  let s = "";
  if (fam.v4) s += sysctlLine("/proc/sys/net/ipv4/ip_forward", forwarding);
  if (fam.v6) s += sysctlLine("/proc/sys/net/ipv6/conf/all/forwarding", forwarding);
  return s;
}

/**
 * The whole container side for a container without IPv6, in one shell running one `ip`: create
 * the pair, link-up, routes and addresses, report the link (JSON, the batch's only output), then
 * the forwarding sysctl (a shell builtin). Undefined with IPv6: its routes need the host side's
 * link-local address, which exists only once both ends are up (containerCreateScript and
 * containerConfigScript then run before and after the host side).
 */
export function containerSetupScript(plan: VethPlan, hostPid: number): string | undefined {
  if (families(plan.addresses).v6) return undefined;
  const lines =
    vethCreateBatch(plan, hostPid) +
    linkUpLine(plan.ifname) +
    containerRouteBatch(plan) +
    linkShowLine(plan.ifname);
  return `set -e\n${ipBatch(lines, true)}${forwardingLines(plan)}`;
}

/** First half inside an IPv6 container: create the pair, IPv6 settings that must precede link-up, link-up. */
export function containerCreateScript(plan: VethPlan, hostPid: number): string {
  let s = `set -e\n${ipBatch(vethCreateBatch(plan, hostPid))}`;
  s += sysctlLine(`/proc/sys/net/ipv6/conf/${plan.ifname}/accept_dad`, "0");
  for (const dev of ["all", "default", "lo"])
    s += sysctlLine(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, "0");
  s += `ip link set dev ${shq(plan.ifname)} up\n`;
  return s;
}

/** Second half inside an IPv6 container: routes, addresses and the link report in one batch, then forwarding. */
export function containerConfigScript(plan: VethPlan, hostLinkLocal?: string): string {
  const lines = containerRouteBatch(plan, hostLinkLocal) + linkShowLine(plan.ifname);
  return `set -e\n${ipBatch(lines, true)}${forwardingLines(plan)}`;
}

/**
 * The host side once its sysctls are written, for `ip -j -force -batch -`: link-up, a route per
 * workload address, and the link report (to confirm the MAC). `-force` runs every line, so a
 * route that already exists is reported without stopping the rest.
 */
export function hostSetupBatch(hostIfname: string, addresses: string[]): string {
  let b = linkUpLine(hostIfname);
  for (const address of addresses) b += hostRouteLine(address, hostIfname);
  return b + linkShowLine(hostIfname);
}

/** `ip -batch` form of hostRouteArgs. */
export function hostRouteLine(address: string, hostIfname: string): string {
  return `route add ${address} dev ${bq(hostIfname)} scope link\n`;
}

/** The destination of a hostRouteLine, or undefined for any other line. */
export function hostRouteDestination(line: string): string | undefined {
  return /^route add (\S+) dev /.exec(line)?.[1];
}

export interface BatchFailure {
  /** 1-based line of the batch that failed. */
  line: number;
  /** What `ip` printed for that line. */
  message: string;
}

/**
 * Splits `ip -batch` stderr into the failed lines: each failure's messages come just before
 * its `Command failed -:N` line.
 */
export function parseBatchFailures(stderr: string): BatchFailure[] {
  const out: BatchFailure[] = [];
  let pending: string[] = [];
  for (const text of stderr.split("\n")) {
    const m = /^Command failed \S*:(\d+)$/.exec(text.trim());
    if (m) {
      out.push({ line: Number(m[1]), message: pending.join("\n") });
      pending = [];
    } else if (text.trim() !== "") {
      pending.push(text.trim());
    }
  }
  return out;
}

/** Host route to the workload; the kernel tags it proto boot, as Calico's netlink call does. */
export function hostRouteArgs(address: string, hostIfname: string): string[] {
  return ["route", "add", address, "dev", hostIfname, "scope", "link"];
}

export function hostRouteShowArgs(address: string): string[] {
  return ["-j", isV6(address) ? "-6" : "-4", "route", "show", "exact", address, "table", "main"];
}

/** Interface names listed in /proc/net/dev (the reader's own namespace). */
export function parseProcNetDev(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon > 0) names.push(line.slice(0, colon).trim());
  }
  return names;
}

/** The link-local address of `ifname` from /proc/net/if_inet6, if it has one yet. */
export function parseLinkLocal(text: string, ifname: string): string | undefined {
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[5] !== ifname || f[3] !== "20") continue;
    const hex = f[0] ?? "";
    if (hex.length !== 32) continue;
    const groups = (hex.match(/.{4}/g) ?? []).map((g) => Number.parseInt(g, 16).toString(16));
    return compressV6(groups);
  }
  return undefined;
}

/** RFC 5952 text form from eight hex groups. */
function compressV6(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(":");
  return `${groups.slice(0, bestStart).join(":")}::${groups.slice(bestStart + bestLen).join(":")}`;
}

export interface LinkInfo {
  ifname: string;
  mac: string;
  mtu: number;
  up: boolean;
}

/** Reads the first link from `ip -j link show` output. */
export function parseLinkJson(stdout: string): LinkInfo | undefined {
  let links: unknown;
  try {
    links = JSON.parse(stdout.trim().split("\n").pop() ?? "");
  } catch {
    return undefined;
  }
  if (!Array.isArray(links) || links.length === 0) return undefined;
  const l = links[0] as { ifname?: string; address?: string; mtu?: number; flags?: string[] };
  return {
    ifname: l.ifname ?? "",
    mac: l.address ?? "",
    mtu: l.mtu ?? 0,
    up: Array.isArray(l.flags) && l.flags.includes("UP"),
  };
}

/** The device of each route in `ip -j route show` output. */
export function parseRouteDevs(stdout: string): string[] {
  try {
    const routes = JSON.parse(stdout || "[]") as { dev?: string }[];
    return routes.map((r) => r.dev ?? "");
  } catch {
    return [];
  }
}
