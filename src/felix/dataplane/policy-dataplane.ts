import type { HostEndpoint, IPPoolType, RouteUpdate, ToDataplane } from "../calc/messages.js";
import { ClusterRoutesDriver, felixOwnedPoolTypes } from "./cluster-routes.js";
import type { CommandRunner } from "./exec.js";
import { InterfaceSysctls, type Link } from "./interfaces/sysctls.js";
import { desiredIPSets, IpsetsDriver, planIpsets } from "./ipsets/ipsets.js";
import { IptablesDriver, type IptablesFlavour } from "./iptables/driver.js";
import {
  type IptChain,
  type IptTable,
  renderFilterChains,
  renderHostTableChains,
  renderNatChains,
} from "./iptables/render.js";
import { type ApplyResult, NftablesDriver } from "./nft/driver.js";
import type { Family } from "./nft/model.js";
import { type WorkloadRoute, WorkloadRoutesDriver } from "./routes.js";
import type { RenderConfig } from "./rules/config.js";
import { resolveHostEndpoints } from "./rules/host-endpoints.js";
import { hasNatOutgoing, renderPolicyTable } from "./rules/ruleset.js";
import { DesiredPolicyState } from "./state.js";
import { TunnelManager, type TunnelOptions } from "./tunnels/manager.js";
import { DEFAULT_MTU_IFACE_PATTERN } from "./tunnels/plan.js";

const WORKLOAD_MESSAGES = new Set<ToDataplane["type"]>(["WorkloadEndpointUpdate", "WorkloadEndpointRemove"]);

/** Which kernel facility enforces policy: Felix's `NFTablesMode` / `IptablesBackend`. */
export type PolicyBackend = { kind: "nftables" } | { kind: "iptables"; flavour: IptablesFlavour };

export interface PolicyApplyResult {
  /** nftables mode: each family's transaction. */
  nft?: Record<Family, ApplyResult>;
  /** iptables mode: each family's `iptables-restore` script ("" when nothing changed). */
  iptables?: Record<Family, string>;
  routes: Record<Family, string>;
  clusterRoutes: Record<Family, string>;
  /** Commands run on the VXLAN and IPIP devices and their entries. */
  tunnels: string[];
  /**
   * Where the policy part of this apply spent its time (ms): rendering the desired chains, and
   * waiting for `nft`/`iptables-restore` to commit (summed over families, which may overlap);
   * the rest of the apply is diffing, routes and bookkeeping.
   */
  timings: { render: number; kernel: number };
}

export interface PolicyDataplaneOptions {
  /** Felix's `ProgramClusterRoutes`: which pool types' block routes Felix programs. */
  programClusterRoutes?: string;
  /** `IPv6Support` (default true): IPv6 sysctls on workload interfaces. */
  ipv6?: boolean;
  /** `IPForwarding` (default Enabled): turn on forwarding globally. */
  ipForwarding?: boolean;
  /** This host and the overlay's settings; without them no MTU file is written. */
  tunnels?: TunnelOptions;
}

const NO_TUNNEL_OPTIONS: TunnelOptions = {
  hostname: "",
  settings: { vni: 4096, port: 4789, vxlanMtu: 0, vxlanMtuV6: 0, ipipMtu: 0 },
  mtuIfacePattern: new RegExp(DEFAULT_MTU_IFACE_PATTERN),
  mtuFile: "",
};

/**
 * Felix's mode from its config: `NFTablesMode=Disabled` selects iptables, whose flavour comes from
 * `IptablesBackend` (`NFT`, `Legacy`; `Auto` takes `autoFlavour`, the nft flavour Debian's
 * `iptables` uses unless the caller knows better). calico-ts defaults to nftables (`Enabled`;
 * `Auto` also means nftables here, as there is no kube-proxy to follow).
 */
export function policyBackendFromConfig(
  config: Readonly<Record<string, string>>,
  autoFlavour: IptablesFlavour = "nft",
): PolicyBackend {
  const mode = (config.NFTablesMode ?? "Enabled").toLowerCase();
  if (mode !== "disabled") return { kind: "nftables" };
  const backend = (config.IptablesBackend ?? "Auto").toLowerCase();
  return {
    kind: "iptables",
    flavour: backend === "legacy" ? "legacy" : backend === "nft" ? "nft" : autoFlavour,
  };
}

/**
 * Workload policy and routes: folds calc-graph messages into desired state (cheap, no kernel
 * access) and, on `apply()`, renders both families and reconciles them and the routes. The first
 * apply also removes what the other mode left behind, so switching modes leaves nothing stale.
 */
export class PolicyDataplane {
  readonly state = new DesiredPolicyState();
  private readonly nft: NftablesDriver;
  private readonly iptables: IptablesDriver;
  private readonly ipsets: IpsetsDriver;
  private readonly routes: WorkloadRoutesDriver;
  private readonly clusterRoutes: ClusterRoutesDriver;
  private readonly sysctls: InterfaceSysctls;
  private readonly tunnels: TunnelManager;
  /** Pool types whose block routes Felix programs (`ProgramClusterRoutes`). */
  private readonly owned: ReadonlySet<IPPoolType>;
  private dirty = true;
  /** Policy-only changes skip the interface and route reads, which cost more than the change. */
  private routesDirty = true;
  private otherModeRemoved = false;
  /** Addresses of host (non-workload) interfaces, for endpoints that name `expectedIPs` only. */
  private hostAddrs = new Map<string, Set<string>>();
  private hostAddrsStale = true;
  /** Rendering time of the apply in progress. */
  private renderMs = 0;

  constructor(
    private readonly run: CommandRunner,
    private readonly cfg: RenderConfig,
    readonly backend: PolicyBackend = { kind: "nftables" },
    opts: PolicyDataplaneOptions = {},
  ) {
    this.clusterRoutes = new ClusterRoutesDriver(run);
    this.owned = felixOwnedPoolTypes(opts.programClusterRoutes);
    this.tunnels = new TunnelManager(run, opts.tunnels ?? NO_TUNNEL_OPTIONS);
    this.sysctls = new InterfaceSysctls(run, {
      ipv6: opts.ipv6 ?? true,
      ipForwarding: opts.ipForwarding ?? true,
    });
    this.nft = new NftablesDriver(run);
    this.iptables = new IptablesDriver(run, backend.kind === "iptables" ? backend.flavour : "nft");
    this.ipsets = new IpsetsDriver(run);
    this.routes = new WorkloadRoutesDriver(run, { interfacePrefixes: cfg.interfacePrefixes });
  }

  onUpdate(msg: ToDataplane): void {
    const tunnel = this.tunnels.onUpdate(msg);
    const routes = tunnel || this.touchesProgrammedRoutes(msg);
    if (!this.state.onUpdate(msg) && !tunnel) return;
    this.dirty = true;
    if (msg.type === "HostEndpointUpdate") this.hostAddrsStale = true;
    if (routes) this.routesDirty = true;
  }

  /**
   * Whether a message can change a route or tunnel device this dataplane programs (asked before
   * the state takes it in, so a removal still sees the route it removes). A block of a pool type
   * BIRD routes is none of Felix's business: without this, every block another node claimed
   * cost every host a round of eight `ip` processes reading interfaces and route tables.
   */
  private touchesProgrammedRoutes(msg: ToDataplane): boolean {
    if (WORKLOAD_MESSAGES.has(msg.type)) return true;
    if (msg.type !== "RouteUpdate" && msg.type !== "RouteRemove") return false;
    const programmed = (r: RouteUpdate | undefined) =>
      r !== undefined && (this.owned.has(r.ipPoolType) || r.types.includes("local-tunnel"));
    return programmed(this.state.routes.get(msg.dst)) || (msg.type === "RouteUpdate" && programmed(msg));
  }

  /** A workload interface appeared, changed or went: routes and sysctls need another look. */
  interfacesChanged(): void {
    this.hostAddrsStale = true;
    this.routesDirty = true;
    this.dirty = true;
  }

  /** The next apply reads the kernel again instead of trusting what was last written, repairing drift. */
  resync(): void {
    this.hostAddrsStale = true;
    this.nft.invalidate();
    this.iptables.invalidate();
    this.ipsets.invalidate();
    this.tunnels.resync();
    this.dirty = true;
    this.routesDirty = true;
  }

  /** Ends the `nft -i` session and the long-lived restores; a later apply would start new ones. */
  close(): void {
    this.nft.close();
    this.iptables.close();
  }

  /** The long-lived helper processes (`nft -i`, the restores) running now, for CPU accounting. */
  get helperPids(): number[] {
    return [this.nft.sessionPid, this.iptables.sessionPid(4), this.iptables.sessionPid(6)].filter(
      (p): p is number => p !== undefined,
    );
  }

  get needsApply(): boolean {
    return this.dirty;
  }

  /**
   * Every address of every local workload whose interface exists, routed to it; an endpoint whose interface is still missing gets its route when the interface appears.
   */
  private workloadRoutes(links: ReadonlyMap<string, Link>): WorkloadRoute[] {
    const out: WorkloadRoute[] = [];
    for (const [iface, ep] of this.state.workloadsByInterface())
      if (links.get(iface)?.flags?.includes("UP"))
        for (const dst of [...ep.ipv4Nets, ...ep.ipv6Nets]) out.push({ dst, iface });
    return out;
  }

  /** Time (ms since the epoch) at which `apply()` must run again even if nothing changes. */
  get applyDeadline(): number | undefined {
    return this.routes.graceDeadline;
  }

  /**
   * Which host endpoint polices which interface. Interface addresses are read only when some
   * endpoint is matched by `expectedIPs` alone, and again after interface changes and resyncs.
   */
  private async hostEndpoints(): Promise<Map<string, HostEndpoint>> {
    const byAddress = [...this.state.hostEndpoints.values()].some((ep) => ep.name === "");
    if (byAddress && this.hostAddrsStale) {
      const out = await this.run(["ip", "-j", "addr", "show"]);
      if (out.code !== 0) throw new Error(`ip addr show failed (${out.code}): ${out.stderr}`);
      const links = JSON.parse(out.stdout || "[]") as { ifname: string; addr_info?: { local: string }[] }[];
      this.hostAddrs = new Map(
        links
          .filter((l) => !this.cfg.interfacePrefixes.some((p) => l.ifname.startsWith(p)))
          .map((l) => [l.ifname, new Set((l.addr_info ?? []).map((a) => a.local))]),
      );
      this.hostAddrsStale = false;
    }
    return resolveHostEndpoints(this.state.hostEndpoints, this.hostAddrs);
  }

  private async applyIptables(family: Family, heps: ReadonlyMap<string, HostEndpoint>): Promise<string> {
    const desiredSets = desiredIPSets(this.state, family);
    const sets = planIpsets(desiredSets, await this.ipsets.read(family), family);
    await this.ipsets.restore(sets.update);
    const tables = this.rendered(
      (): Array<[IptTable, IptChain[]]> => [
        ["raw", renderHostTableChains(this.state, family, this.cfg, "raw", heps)],
        ["mangle", renderHostTableChains(this.state, family, this.cfg, "mangle", heps)],
        ["filter", renderFilterChains(this.state, family, this.cfg, heps)],
        ["nat", hasNatOutgoing(this.state, family) ? renderNatChains(family, this.cfg) : []],
      ],
    );
    const script = await this.iptables.applyTables(family, tables);
    await this.ipsets.restore(sets.cleanup);
    this.ipsets.remember(family, desiredSets);
    return script;
  }

  /** Runs a render, adding its time to this apply's `timings.render`. */
  private rendered<T>(render: () => T): T {
    const t0 = performance.now();
    const out = render();
    this.renderMs += performance.now() - t0;
    return out;
  }

  private async removeOtherMode(): Promise<void> {
    if (this.otherModeRemoved) return;
    if (this.backend.kind === "nftables") {
      for (const family of [4, 6] as const) {
        await this.iptables.removeAll(family).catch(() => undefined);
        await this.ipsets.removeAll(family).catch(() => undefined);
      }
    } else {
      for (const family of [4, 6] as const) await this.nft.remove(family, this.cfg.tableName);
    }
    this.otherModeRemoved = true;
  }

  /** Interface settings and routes first, as Felix does, then both families' policy; stays dirty if anything throws. */
  async apply(): Promise<PolicyApplyResult> {
    // Cleared first: an update or resync that arrives while this apply runs must cause another.
    const routesDirty = this.routesDirty || this.routes.graceDeadline !== undefined;
    this.dirty = false;
    this.routesDirty = false;
    try {
      return await this.applyAll(routesDirty);
    } catch (err) {
      this.dirty = true;
      this.routesDirty ||= routesDirty;
      throw err;
    }
  }

  /** Tunnel devices before the cluster routes that leave through them. */
  private async applyRoutes(): Promise<Pick<PolicyApplyResult, "routes" | "clusterRoutes" | "tunnels">> {
    const links = await this.sysctls.links();
    await this.sysctls.apply(this.state.workloadsByInterface().keys(), links);
    const routes = await this.routes.apply(this.workloadRoutes(links));
    const tunnels = await this.tunnels.apply(links.values(), this.state.routes.values(), this.owned);
    const clusterRoutes = await this.clusterRoutes.apply(tunnels.plan.routes);
    return { routes, clusterRoutes, tunnels: tunnels.commands };
  }

  private async applyAll(routesDirty: boolean): Promise<PolicyApplyResult> {
    const unchanged = { 4: "", 6: "" };
    const { routes, clusterRoutes, tunnels } = routesDirty
      ? await this.applyRoutes()
      : { routes: unchanged, clusterRoutes: unchanged, tunnels: [] };
    await this.removeOtherMode();
    const heps = await this.hostEndpoints();
    const kernel0 = this.nft.kernelMs + this.iptables.kernelMs;
    this.renderMs = 0;
    let result: PolicyApplyResult;
    const timings = { render: 0, kernel: 0 };
    if (this.backend.kind === "nftables") {
      const tables = this.rendered(() => [
        renderPolicyTable(this.state, 4, this.cfg, heps),
        renderPolicyTable(this.state, 6, this.cfg, heps),
      ]);
      const [v4, v6] = await this.nft.applyAll(tables);
      result = {
        nft: { 4: v4 as ApplyResult, 6: v6 as ApplyResult },
        routes,
        clusterRoutes,
        tunnels,
        timings,
      };
    } else {
      // The families are independent tables and sets: their restores run side by side.
      const [v4, v6] = await Promise.all([this.applyIptables(4, heps), this.applyIptables(6, heps)]);
      result = { iptables: { 4: v4, 6: v6 }, routes, clusterRoutes, tunnels, timings };
    }
    timings.render = this.renderMs;
    timings.kernel = this.nft.kernelMs + this.iptables.kernelMs - kernel0;
    return result;
  }
}
