/**
 * Routes for IPAM blocks (reference §13.3): a blackhole for each block affine to this host, so
 * traffic to its unallocated addresses is dropped rather than sent back out, and — for the pool
 * types Felix owns — a route to each remote block via the node that holds it. Which pool types
 * Felix owns follows `ProgramClusterRoutes`; BIRD programs the rest. Felix's routes carry protocol
 * 80, which marks them as its own: anything else in the table (BIRD's, the admin's) is left alone.
 */
import type { IPPoolType, RouteUpdate } from "../calc/messages.js";
import type { CommandRunner } from "./exec.js";
import { canonicalNet } from "./nft/elements.js";

export const FELIX_ROUTE_PROTOCOL = "80";

export interface ClusterRoute {
  dst: string;
  /** Next hop (the remote node's IP); absent for a blackhole. */
  via?: string;
}

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

/**
 * The cluster routes wanted from the route resolver's updates. Remote blocks in IPIP and VXLAN
 * pools need tunnel devices, which calc-ts does not manage (this kernel has no ipip module), so
 * only no-encap remote blocks get a route; blackholes are made for every owned pool type.
 */
export function desiredClusterRoutes(
  routes: Iterable<RouteUpdate>,
  owned: ReadonlySet<IPPoolType>,
): ClusterRoute[] {
  const out: ClusterRoute[] = [];
  for (const r of routes) {
    if (!owned.has(r.ipPoolType)) continue;
    if (r.blackhole) out.push({ dst: canonicalNet(r.dst) });
    else if (
      r.ipPoolType === "no-encap" &&
      r.types.includes("remote-workload") &&
      r.dstNodeIp &&
      !r.types.includes("local-workload")
    )
      out.push({ dst: canonicalNet(r.dst), via: r.dstNodeIp });
  }
  return out;
}

interface KernelRoute {
  dst: string;
  type?: string;
  gateway?: string;
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
        const matches = w && (w.via ? k.gateway === w.via : k.type === "blackhole");
        if (matches && !have.has(dst)) have.add(dst);
        else
          lines.push(
            `route del ${k.type === "blackhole" ? "blackhole " : ""}${k.dst} proto ${FELIX_ROUTE_PROTOCOL}`,
          );
      }
      for (const [dst, r] of want) {
        if (have.has(dst)) continue;
        lines.push(
          r.via
            ? `route replace ${dst} via ${r.via} proto ${FELIX_ROUTE_PROTOCOL}`
            : `route replace blackhole ${dst} proto ${FELIX_ROUTE_PROTOCOL}`,
        );
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
