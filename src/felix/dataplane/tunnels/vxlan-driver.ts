/**
 * The VXLAN device and its static forwarding state, declaratively: the device
 * is (re)created when its VNI, port, local address or parent differ, its MTU, MAC and address
 * are corrected in place, and the permanent ARP and FDB entries on it are made to equal one per
 * remote VTEP — entries of nodes that left are removed, what an earlier run made is adopted.
 */
import type { CommandRunner } from "../exec.js";
import type { VxlanDevice, VxlanPeer } from "./plan.js";

interface KernelLink {
  ifname: string;
  mtu?: number;
  address?: string;
  flags?: string[];
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; local?: string; link?: string; port?: number; learning?: boolean };
  };
}

interface KernelNeigh {
  dst: string;
  lladdr?: string;
  state?: string[];
}

interface KernelFdb {
  mac: string;
  dst?: string;
  state?: string;
}

export interface VxlanApplyResult {
  /** The commands that ran, for logs and tests ([] when the kernel already matched). */
  commands: string[];
}

async function ok(run: CommandRunner, argv: string[], input?: string): Promise<string> {
  const out = await run(argv, input);
  if (out.code !== 0) throw new Error(`${argv.join(" ")} failed (${out.code}): ${out.stderr.trim()}`);
  return out.stdout;
}

/** Whether an existing device can be kept (the rest is fixed in place). */
export function vxlanDeviceCompatible(link: KernelLink, want: VxlanDevice): boolean {
  const d = link.linkinfo?.info_data;
  return (
    link.linkinfo?.info_kind === "vxlan" &&
    d?.id === want.vni &&
    d.port === want.port &&
    d.local === want.local &&
    d.link === want.parent &&
    d.learning === false
  );
}

export class VxlanDriver {
  constructor(private readonly run: CommandRunner) {}

  private async readLink(name: string): Promise<KernelLink | undefined> {
    const out = await this.run(["ip", "-j", "-d", "link", "show", "dev", name]);
    if (out.code !== 0) return undefined;
    return (JSON.parse(out.stdout || "[]") as KernelLink[])[0];
  }

  /** Removes the device (and with it its routes and entries) when it exists. */
  async remove(name: string): Promise<string[]> {
    if (!(await this.readLink(name))) return [];
    await ok(this.run, ["ip", "link", "del", "dev", name]);
    return [`link del ${name}`];
  }

  async apply(want: VxlanDevice, peers: readonly VxlanPeer[]): Promise<VxlanApplyResult> {
    const commands: string[] = [];
    const exec = async (argv: string[]) => {
      await ok(this.run, argv);
      commands.push(argv.slice(0).join(" "));
    };
    let link = await this.readLink(want.name);
    if (link && !vxlanDeviceCompatible(link, want)) {
      await exec(["ip", "link", "del", "dev", want.name]);
      link = undefined;
    }
    if (!link) {
      await exec([
        "ip",
        "link",
        "add",
        want.name,
        "mtu",
        String(want.mtu),
        "address",
        want.mac,
        "type",
        "vxlan",
        "id",
        String(want.vni),
        "local",
        want.local,
        "dev",
        want.parent,
        "dstport",
        String(want.port),
        "nolearning",
      ]);
      link = (await this.readLink(want.name)) as KernelLink;
    }
    if (link.mtu !== want.mtu) await exec(["ip", "link", "set", "dev", want.name, "mtu", String(want.mtu)]);
    if (link.address?.toLowerCase() !== want.mac.toLowerCase())
      await exec(["ip", "link", "set", "dev", want.name, "address", want.mac]);
    if (!link.flags?.includes("UP")) await exec(["ip", "link", "set", "dev", want.name, "up"]);
    await this.applyAddress(want, exec);
    commands.push(...(await this.applyNeighbours(want.name, peers)));
    commands.push(...(await this.applyFdb(want.name, peers)));
    return { commands };
  }

  private async applyAddress(want: VxlanDevice, exec: (argv: string[]) => Promise<void>): Promise<void> {
    const out = await ok(this.run, ["ip", "-j", "-4", "addr", "show", "dev", want.name]);
    const have = (
      (JSON.parse(out || "[]") as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>)[0]
        ?.addr_info ?? []
    ).map((a) => `${a.local}/${a.prefixlen}`);
    const wanted = `${want.address}/32`;
    for (const a of have) if (a !== wanted) await exec(["ip", "addr", "del", a, "dev", want.name]);
    if (!have.includes(wanted)) await exec(["ip", "addr", "add", wanted, "dev", want.name]);
  }

  private async applyNeighbours(dev: string, peers: readonly VxlanPeer[]): Promise<string[]> {
    const out = await ok(this.run, ["ip", "-j", "-4", "neigh", "show", "dev", dev]);
    const have = (JSON.parse(out || "[]") as KernelNeigh[]).filter((n) => n.state?.includes("PERMANENT"));
    const want = new Map(peers.map((p) => [p.tunnelIp, p.mac.toLowerCase()]));
    const lines: string[] = [];
    for (const n of have)
      if (want.get(n.dst) !== n.lladdr?.toLowerCase()) lines.push(`neigh del ${n.dst} dev ${dev}`);
    for (const [ip, mac] of want)
      if (!have.some((n) => n.dst === ip && n.lladdr?.toLowerCase() === mac))
        lines.push(`neigh replace ${ip} lladdr ${mac} dev ${dev} nud permanent`);
    if (lines.length > 0) await ok(this.run, ["ip", "-force", "-batch", "-"], `${lines.join("\n")}\n`);
    return lines;
  }

  private async applyFdb(dev: string, peers: readonly VxlanPeer[]): Promise<string[]> {
    const out = await ok(this.run, ["bridge", "-j", "fdb", "show", "dev", dev]);
    const have = (JSON.parse(out || "[]") as KernelFdb[]).filter((f) => f.dst !== undefined);
    const want = new Map(peers.map((p) => [p.mac.toLowerCase(), p.nodeIp]));
    const lines: string[] = [];
    for (const f of have)
      if (want.get(f.mac.toLowerCase()) !== f.dst || f.state !== "permanent")
        lines.push(`fdb del ${f.mac} dev ${dev} dst ${f.dst} self`);
    for (const [mac, dst] of want)
      if (!have.some((f) => f.mac.toLowerCase() === mac && f.dst === dst && f.state === "permanent"))
        lines.push(`fdb replace ${mac} dev ${dev} dst ${dst} self permanent`);
    if (lines.length > 0) await ok(this.run, ["bridge", "-force", "-batch", "-"], `${lines.join("\n")}\n`);
    return lines;
  }
}
