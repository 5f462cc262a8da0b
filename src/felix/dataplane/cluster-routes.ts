/**
 * Routes for IPAM blocks: a blackhole for each block affine to this host, so
 * traffic to its unallocated addresses is dropped rather than sent back out, and — for the pool
 * types Felix owns — a route to each remote block via the node that holds it. Which pool types
 * Felix owns follows `ProgramClusterRoutes`; BIRD programs the rest. Felix's routes carry protocol
 * 80, which marks them as its own: anything else in the table (BIRD's, the admin's) is left alone.
 */
import type { IPPoolType } from "../calc/messages.js";
import type { CommandRunner } from "./exec.js";
import { canonicalNet } from "./nft/elements.js";
import type { ClusterRoute } from "./tunnels/plan.js";

export const FELIX_ROUTE_PROTOCOL = "80";

/** Pool types whose cluster routes Felix programs, per `ProgramClusterRoutes` (default `EnabledIPIPOnly`). */
export function felixOwnedPoolTypes(setting: string | undefined): Set<IPPoolType> {
  switch ((setting ?? "EnabledIPIPOnly").toLowerCase()) {
    case "enabled":
      return new Set(["no-encap", "ipip", "vxlan"]);
    case "disabled":
      return new Set(["vxlan"]);
    case "enablednoencaponly":
      return new Set(["no-encap", "vxlan"]);
    default:
      return new Set(["ipip", "vxlan"]);
  }
}

interface KernelRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  flags?: string[];
}

function sameRoute(k: KernelRoute, w: ClusterRoute): boolean {
  if (!w.via) return k.type === "blackhole";
  return (
    k.gateway === w.via &&
    (w.dev === undefined || k.dev === w.dev) &&
    (k.flags ?? []).includes("onlink") === (w.onlink ?? false)
  );
}

function routeLine(r: ClusterRoute): string {
  if (!r.via) return `route replace blackhole ${r.dst} proto ${FELIX_ROUTE_PROTOCOL}`;
  const dev = r.dev ? ` dev ${r.dev}` : "";
  return `route replace ${r.dst} via ${r.via}${dev}${r.onlink ? " onlink" : ""} proto ${FELIX_ROUTE_PROTOCOL}`;
}

export class ClusterRoutesDriver {
  constructor(private readonly run: CommandRunner) {}

  async read(family: 4 | 6): Promise<KernelRoute[]> {
    const out = await this.run([
      "ip",
      "-j",
      `-${family}`,
      "route",
      "show",
      "table",
      "main",
      "proto",
      FELIX_ROUTE_PROTOCOL,
    ]);
    if (out.code !== 0) throw new Error(`ip route show failed (${out.code}): ${out.stderr}`);
    return JSON.parse(out.stdout || "[]") as KernelRoute[];
  }

  /** Returns the batch run per family ("" when the kernel already matched). */
  async apply(desired: readonly ClusterRoute[]): Promise<Record<4 | 6, string>> {
    const result: Record<4 | 6, string> = { 4: "", 6: "" };
    for (const family of [4, 6] as const) {
      const want = new Map(
        desired.filter((r) => r.dst.includes(":") === (family === 6)).map((r) => [r.dst, r]),
      );
      const lines: string[] = [];
      const have = new Set<string>();
      for (const k of await this.read(family)) {
        const dst = canonicalNet(k.dst);
        const w = want.get(dst);
        const matches = w && sameRoute(k, w);
        if (matches && !have.has(dst)) have.add(dst);
        else
          lines.push(
            `route del ${k.type === "blackhole" ? "blackhole " : ""}${k.dst} proto ${FELIX_ROUTE_PROTOCOL}`,
          );
      }
      for (const [dst, r] of want) {
        if (have.has(dst)) continue;
        lines.push(routeLine(r));
      }
      if (lines.length === 0) continue;
      const batch = `${lines.join("\n")}\n`;
      const out = await this.run(["ip", `-${family}`, "-force", "-batch", "-"], batch);
      if (out.code !== 0) throw new Error(`ip -batch failed (${out.code}): ${out.stderr}`);
      result[family] = batch;
    }
    return result;
  }
}
