/**
 * The overlay manager: folds the calc graph's tunnel facts (VTEPs, which encapsulations pools
 * use, this host's address), then on apply discovers what it needs from the kernel (the host
 * MTU, the interface carrying the node IP, whether IPIP can exist), plans, and drives the VXLAN
 * and IPIP devices. Also writes the pod MTU where the CNI plugin reads it.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { IPPoolType, RouteUpdate, ToDataplane, VXLANTunnelEndpointUpdate } from "../../calc/messages.js";
import type { CommandRunner } from "../exec.js";
import { IpipDriver } from "./ipip-driver.js";
import {
  detectHostMtu,
  IPIP_DEVICE,
  planTunnels,
  type TunnelPlan,
  type TunnelSettings,
  VXLAN_DEVICE,
} from "./plan.js";
import { VxlanDriver } from "./vxlan-driver.js";

export const DEFAULT_MTU_FILE = "/var/lib/calico/mtu";

export interface TunnelLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface TunnelOptions {
  hostname: string;
  settings: TunnelSettings;
  mtuIfacePattern: RegExp;
  /** Where the pod MTU is written for the CNI plugin; "" to not write it. */
  mtuFile: string;
  log?: TunnelLog;
}

export interface LinkInfo {
  ifname: string;
  mtu?: number;
  operstate?: string;
  flags?: string[];
}

export interface TunnelApplyResult {
  plan: TunnelPlan;
  commands: string[];
}

export class TunnelManager {
  readonly vteps = new Map<string, VXLANTunnelEndpointUpdate>();
  private vxlanEnabled = false;
  private vxlanEnabledV6 = false;
  private ipipEnabled = false;
  private hostIp: string | undefined;
  private ipipAvailable: boolean | undefined;
  private readonly vxlan: VxlanDriver;
  private readonly ipip: IpipDriver;
  private lastMtuText: string | undefined;
  private readonly reported = new Set<string>();

  constructor(
    private readonly run: CommandRunner,
    private readonly opts: TunnelOptions,
  ) {
    this.vxlan = new VxlanDriver(run);
    this.ipip = new IpipDriver(run);
  }

  /** Returns whether the message concerned the overlay. */
  onUpdate(msg: ToDataplane): boolean {
    switch (msg.type) {
      case "VXLANTunnelEndpointUpdate":
        this.vteps.set(msg.node, msg);
        return true;
      case "VXLANTunnelEndpointRemove":
        return this.vteps.delete(msg.node);
      case "Encapsulation":
        this.vxlanEnabled = msg.vxlanEnabled;
        this.vxlanEnabledV6 = msg.vxlanEnabledV6;
        this.ipipEnabled = msg.ipipEnabled;
        return true;
      case "HostMetadataUpdate":
        if (msg.hostname !== this.opts.hostname) return false;
        this.hostIp = msg.ipv4Addr || undefined;
        return true;
      case "HostMetadataRemove":
        if (msg.hostname !== this.opts.hostname) return false;
        this.hostIp = undefined;
        return true;
      default:
        return false;
    }
  }

  /** Forget what was learnt about the kernel. */
  resync(): void {
    this.ipipAvailable = undefined;
    this.lastMtuText = undefined;
  }

  private async interfaceWithAddress(ip: string | undefined): Promise<string | undefined> {
    if (!ip) return undefined;
    const out = await this.run(["ip", "-j", "-4", "addr", "show"]);
    if (out.code !== 0) throw new Error(`ip addr show failed (${out.code}): ${out.stderr}`);
    const links = JSON.parse(out.stdout || "[]") as Array<{
      ifname: string;
      addr_info?: Array<{ local: string }>;
    }>;
    return links.find((l) => l.ifname !== VXLAN_DEVICE && (l.addr_info ?? []).some((a) => a.local === ip))
      ?.ifname;
  }

  private report(level: "info" | "warn", fields: Record<string, unknown>, msg: string): void {
    const key = `${msg} ${JSON.stringify(fields)}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.opts.log?.[level](fields, msg);
  }

  async apply(
    links: Iterable<LinkInfo>,
    routes: Iterable<RouteUpdate>,
    owned: ReadonlySet<IPPoolType>,
  ): Promise<TunnelApplyResult> {
    const host = detectHostMtu(links, this.opts.mtuIfacePattern);
    const localIp = this.vteps.get(this.opts.hostname)?.parentDeviceIp ?? this.hostIp;
    const parent = await this.interfaceWithAddress(localIp);
    if (this.ipipEnabled && this.ipipAvailable === undefined)
      this.ipipAvailable = await this.ipip.ensureDevice(IPIP_DEVICE);
    const plan = planTunnels({
      hostname: this.opts.hostname,
      vxlanEnabled: this.vxlanEnabled,
      vxlanEnabledV6: this.vxlanEnabledV6,
      ipipEnabled: this.ipipEnabled,
      vteps: this.vteps,
      routes,
      owned,
      ...(parent ? { parent } : {}),
      hostMtu: host.mtu,
      settings: this.opts.settings,
      ipipAvailable: this.ipipAvailable === true,
    });
    for (const p of plan.problems) this.report("warn", {}, p);
    const commands: string[] = [];
    if (plan.vxlan) commands.push(...(await this.vxlan.apply(plan.vxlan, plan.vxlanPeers)).commands);
    else if (!this.vxlanEnabled) commands.push(...(await this.vxlan.remove(VXLAN_DEVICE)));
    if (plan.ipip && this.ipipAvailable) commands.push(...(await this.ipip.apply(plan.ipip)));
    else if (!this.ipipEnabled) commands.push(...(await this.ipip.disable(IPIP_DEVICE)));
    await this.writeMtu(plan, host.iface);
    return { plan, commands };
  }

  private async writeMtu(plan: TunnelPlan, hostIface: string | undefined): Promise<void> {
    const { mtus } = plan;
    const fields = {
      hostMtu: mtus.host,
      hostInterface: hostIface ?? `none matched ${this.opts.mtuIfacePattern.source}: fallback`,
      ...(this.vxlanEnabled ? { vxlanMtu: mtus.vxlan, vxlanInterface: VXLAN_DEVICE } : {}),
      ...(this.vxlanEnabledV6 ? { vxlanMtuV6: mtus.vxlanV6 } : {}),
      ...(this.ipipEnabled ? { ipipMtu: mtus.ipip, ipipInterface: IPIP_DEVICE } : {}),
      podMtu: mtus.pod,
    };
    this.report("info", fields, "MTUs determined");
    if (!this.opts.mtuFile) return;
    const text = String(mtus.pod);
    if (this.lastMtuText === text) return;
    const current = await readFile(this.opts.mtuFile, "utf8").catch(() => undefined);
    if (current?.trim() !== text) {
      await mkdir(dirname(this.opts.mtuFile), { recursive: true });
      const tmp = `${this.opts.mtuFile}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, this.opts.mtuFile);
      this.report(
        "info",
        { file: this.opts.mtuFile, podMtu: mtus.pod },
        "Wrote the pod MTU for the CNI plugin",
      );
    }
    this.lastMtuText = text;
  }
}
