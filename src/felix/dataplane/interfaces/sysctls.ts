/**
 * Kernel settings Felix owns: forwarding globally, and on each workload
 * interface once it is up — proxy ARP answering for the 169.254.1.1 gateway, forwarding, no
 * router advertisements, proxy NDP for IPv6. An interface is configured once per ifindex, so a
 * recreated interface (same name, new index) is configured again; failures retry on the next apply.
 */
import type { CommandRunner } from "../exec.js";

export interface Link {
  ifindex: number;
  ifname: string;
  mtu?: number;
  operstate?: string;
  flags?: string[];
}

export function workloadSysctls(iface: string, ipv6: boolean): string[] {
  const out = [
    `net.ipv6.conf.${iface}.accept_ra=0`,
    `net.ipv4.conf.${iface}.route_localnet=1`,
    `net.ipv4.neigh.${iface}.proxy_delay=0`,
    `net.ipv4.conf.${iface}.proxy_arp=1`,
    `net.ipv4.conf.${iface}.forwarding=1`,
  ];
  if (ipv6) out.push(`net.ipv6.conf.${iface}.proxy_ndp=1`, `net.ipv6.conf.${iface}.forwarding=1`);
  return out;
}

/** Interfaces per `sysctl` command (7 settings each keeps argv far below the kernel's limit). */
const SYSCTL_CHUNK = 64;

export class InterfaceSysctls {
  /** ifname → ifindex it was configured at. */
  private readonly configured = new Map<string, number>();
  private globalDone = false;

  constructor(
    private readonly run: CommandRunner,
    private readonly opts: { ipv6: boolean; ipForwarding: boolean },
  ) {}

  private async sysctl(settings: string[]): Promise<void> {
    if (settings.length === 0) return;
    const out = await this.run(["sysctl", "-q", "-w", ...settings]);
    if (out.code !== 0) throw new Error(`sysctl failed (${out.code}): ${out.stderr.trim()}`);
  }

  /** Up interfaces by name, read once per apply. */
  async links(): Promise<Map<string, Link>> {
    const out = await this.run(["ip", "-j", "link", "show"]);
    if (out.code !== 0) throw new Error(`ip link show failed (${out.code}): ${out.stderr}`);
    return new Map((JSON.parse(out.stdout || "[]") as Link[]).map((l) => [l.ifname, l]));
  }

  /** Configures workload interfaces that are up and not yet configured; returns their names. */
  async apply(workloadIfaces: Iterable<string>, links: ReadonlyMap<string, Link>): Promise<string[]> {
    if (!this.globalDone && this.opts.ipForwarding) {
      await this.sysctl([
        "net.ipv4.ip_forward=1",
        ...(this.opts.ipv6 ? ["net.ipv6.conf.all.forwarding=1"] : []),
      ]);
      this.globalDone = true;
    }
    const todo: Link[] = [];
    for (const name of workloadIfaces) {
      const link = links.get(name);
      if (link && (link.flags ?? []).includes("UP") && this.configured.get(name) !== link.ifindex)
        todo.push(link);
    }
    // One `sysctl` per chunk of interfaces rather than per interface: at start-up with hundreds
    // of workloads the process spawns were most of the time. A chunk that fails (an interface
    // vanished) is retried one interface at a time so the others still get configured.
    const done: string[] = [];
    for (let i = 0; i < todo.length; i += SYSCTL_CHUNK) {
      const chunk = todo.slice(i, i + SYSCTL_CHUNK);
      const all = await this.sysctl(chunk.flatMap((l) => workloadSysctls(l.ifname, this.opts.ipv6))).then(
        () => true,
        (err: unknown) => (chunk.length === 1 ? Promise.reject(err) : false),
      );
      for (const link of chunk) {
        if (!all) await this.sysctl(workloadSysctls(link.ifname, this.opts.ipv6));
        this.configured.set(link.ifname, link.ifindex);
        done.push(link.ifname);
      }
    }
    for (const name of this.configured.keys()) if (!links.has(name)) this.configured.delete(name);
    return done;
  }
}
