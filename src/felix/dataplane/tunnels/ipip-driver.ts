/**
 * The IPIP device. `tunl0` is the kernel ipip module's fallback device: asking
 * for it loads the module where it is built; on a kernel without ipip it cannot exist, which is
 * reported (and IPIP routes are then left out) rather than failing the rest of the dataplane.
 */
import type { CommandRunner } from "../exec.js";
import type { IpipDevice } from "./plan.js";

interface KernelLink {
  mtu?: number;
  flags?: string[];
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

export class IpipDriver {
  constructor(private readonly run: CommandRunner) {}

  private async readLink(name: string): Promise<KernelLink | undefined> {
    const out = await this.run(["ip", "-j", "addr", "show", "dev", name]);
    if (out.code !== 0) return undefined;
    return (JSON.parse(out.stdout || "[]") as KernelLink[])[0];
  }

  /** Makes sure the device exists; false when this kernel cannot have it. */
  async ensureDevice(name: string): Promise<boolean> {
    if (await this.readLink(name)) return true;
    const out = await this.run(["ip", "link", "add", "name", name, "type", "ipip"]);
    return out.code === 0 || (await this.readLink(name)) !== undefined;
  }

  async apply(want: IpipDevice): Promise<string[]> {
    const link = await this.readLink(want.name);
    if (!link) throw new Error(`${want.name} does not exist: the kernel has no ipip support`);
    const commands: string[] = [];
    const exec = async (argv: string[]) => {
      const out = await this.run(argv);
      if (out.code !== 0) throw new Error(`${argv.join(" ")} failed (${out.code}): ${out.stderr.trim()}`);
      commands.push(argv.join(" "));
    };
    if (link.mtu !== want.mtu) await exec(["ip", "link", "set", "dev", want.name, "mtu", String(want.mtu)]);
    const have = (link.addr_info ?? [])
      .filter((a) => a.family === "inet")
      .map((a) => `${a.local}/${a.prefixlen}`);
    const wanted = want.address ? `${want.address}/32` : undefined;
    for (const a of have) if (a !== wanted) await exec(["ip", "addr", "del", a, "dev", want.name]);
    if (wanted && !have.includes(wanted)) await exec(["ip", "addr", "add", wanted, "dev", want.name]);
    if (!link.flags?.includes("UP")) await exec(["ip", "link", "set", "dev", want.name, "up"]);
    return commands;
  }

  /** IPIP is off: the device stays (the kernel owns it) but loses its address and goes down. */
  async disable(name: string): Promise<string[]> {
    const link = await this.readLink(name);
    if (!link) return [];
    const commands: string[] = [];
    for (const a of (link.addr_info ?? []).filter((x) => x.family === "inet")) {
      await this.run(["ip", "addr", "del", `${a.local}/${a.prefixlen}`, "dev", name]);
      commands.push(`addr del ${a.local}/${a.prefixlen} dev ${name}`);
    }
    if (link.flags?.includes("UP")) {
      await this.run(["ip", "link", "set", "dev", name, "down"]);
      commands.push(`link set ${name} down`);
    }
    return commands;
  }
}
