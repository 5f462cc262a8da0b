import type { CommandRunner } from "./exec.js";
import { canonicalNet } from "./nft/elements.js";

export interface WorkloadRoute {
  /** `10.65.0.5/32`, `fd00::5/128`. */
  dst: string;
  iface: string;
}

export interface RoutesOptions {
  /** Workload interface prefixes; routes on such interfaces are ours. */
  interfacePrefixes: string[];
  /** `DeviceRouteProtocol`; Felix's default is 3 (`boot`). */
  protocol?: string;
  /**
   * How long a route on a workload interface no endpoint claims is left alone: CNI programs
   * the route before Felix hears of the endpoint. Felix uses 10 s.
   */
  graceMs?: number;
  now?: () => number;
}

interface KernelRoute {
  dst: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  type?: string;
  metric?: number;
}

const PROTOCOL_NAMES: Record<string, string> = { "3": "boot", "4": "static", "80": "80" };

/**
 * Routes to local workloads in the main table: `<ip>/32 dev <iface> scope link
 * proto boot`. A route on a workload interface is ours unless the kernel made it (connected and
 * IPv6 link-local routes), so the first apply adopts what CNI or an earlier run created and
 * removes what is no longer wanted. Changes go through one `ip -batch` per family.
 */
export class WorkloadRoutesDriver {
  private readonly protocol: string;
  /** Unclaimed routes by `family dst dev`, with when they were first seen. */
  private readonly unclaimedSince = new Map<string, number>();

  constructor(
    private readonly run: CommandRunner,
    private readonly opts: RoutesOptions,
  ) {
    this.protocol = PROTOCOL_NAMES[opts.protocol ?? "3"] ?? opts.protocol ?? "boot";
  }

  private ours(r: KernelRoute): boolean {
    const dev = r.dev;
    return (
      dev !== undefined &&
      this.opts.interfacePrefixes.some((p) => dev.startsWith(p)) &&
      r.protocol !== "kernel" &&
      (r.type === undefined || r.type === "unicast")
    );
  }

  async read(family: 4 | 6): Promise<KernelRoute[]> {
    const out = await this.run(["ip", "-j", `-${family}`, "route", "show", "table", "main"]);
    if (out.code !== 0) throw new Error(`ip route show failed (${out.code}): ${out.stderr}`);
    return (JSON.parse(out.stdout || "[]") as KernelRoute[]).filter((r) => this.ours(r));
  }

  /** When the oldest unclaimed route's grace runs out: the caller should apply again then. */
  get graceDeadline(): number | undefined {
    const first = Math.min(...this.unclaimedSince.values());
    return Number.isFinite(first) ? first + (this.opts.graceMs ?? 10_000) : undefined;
  }

  /** Returns the batch that was run per family ("" when nothing changed). */
  async apply(desired: readonly WorkloadRoute[]): Promise<Record<4 | 6, string>> {
    const result: Record<4 | 6, string> = { 4: "", 6: "" };
    const now = (this.opts.now ?? Date.now)();
    const claimed = new Set(desired.map((r) => r.iface));
    const stillUnclaimed = new Set<string>();
    for (const family of [4, 6] as const) {
      const want = new Map<string, string>();
      for (const r of desired) {
        const dst = canonicalNet(r.dst);
        if (dst.includes(":") === (family === 6)) want.set(dst, r.iface);
      }
      const lines: string[] = [];
      const have = new Set<string>();
      for (const r of await this.read(family)) {
        const dst = canonicalNet(r.dst);
        // `ip -j` omits the default protocol (boot), and IPv6 routes carry no scope.
        const ok =
          want.get(dst) === r.dev &&
          (r.protocol ?? "boot") === this.protocol &&
          (family === 6 || r.scope === "link");
        if (ok && !have.has(dst)) {
          have.add(dst);
          continue;
        }
        const key = `${family} ${dst} ${r.dev}`;
        if (!claimed.has(r.dev as string)) {
          const since = this.unclaimedSince.get(key) ?? now;
          this.unclaimedSince.set(key, since);
          if (now - since < (this.opts.graceMs ?? 10_000)) {
            stillUnclaimed.add(key);
            continue;
          }
        }
        const metric = r.metric === undefined ? [] : ["metric", String(r.metric)];
        lines.push(["route", "del", r.dst, "dev", r.dev as string, ...metric].join(" "));
      }
      for (const [dst, iface] of want)
        if (!have.has(dst)) lines.push(`route replace ${dst} dev ${iface} proto ${this.protocol} scope link`);
      if (lines.length === 0) continue;
      const batch = `${lines.join("\n")}\n`;
      // -force: one vanished interface must not stop the other routes.
      const out = await this.run(["ip", `-${family}`, "-force", "-batch", "-"], batch);
      if (out.code !== 0) throw new Error(`ip -batch failed (${out.code}): ${out.stderr}`);
      result[family] = batch;
    }
    for (const key of this.unclaimedSince.keys())
      if (!stillUnclaimed.has(key)) this.unclaimedSince.delete(key);
    return result;
  }
}
