import type { ToDataplane } from "../calc/messages.js";
import type { CommandRunner } from "./exec.js";
import { type ApplyResult, NftablesDriver } from "./nft/driver.js";
import { type WorkloadRoute, WorkloadRoutesDriver } from "./routes.js";
import type { RenderConfig } from "./rules/config.js";
import { renderPolicyTable } from "./rules/ruleset.js";
import { DesiredPolicyState } from "./state.js";

export interface PolicyApplyResult {
  nft: Record<4 | 6, ApplyResult>;
  routes: Record<4 | 6, string>;
}

/**
 * Workload policy and routes: folds calc-graph messages into desired state (cheap, no kernel
 * access) and, on `apply()`, renders both families' tables and reconciles them and the routes.
 */
export class PolicyDataplane {
  readonly state = new DesiredPolicyState();
  private readonly nft: NftablesDriver;
  private readonly routes: WorkloadRoutesDriver;
  private dirty = true;

  constructor(
    run: CommandRunner,
    private readonly cfg: RenderConfig,
  ) {
    this.nft = new NftablesDriver(run);
    this.routes = new WorkloadRoutesDriver(run, { interfacePrefixes: cfg.interfacePrefixes });
  }

  onUpdate(msg: ToDataplane): void {
    if (this.state.onUpdate(msg)) this.dirty = true;
  }

  /** The drivers re-read the kernel on every apply, so marking dirty is enough to repair drift. */
  resync(): void {
    this.dirty = true;
  }

  get needsApply(): boolean {
    return this.dirty;
  }

  /** Every address of every local workload, routed to its interface (reference §13.1). */
  private workloadRoutes(): WorkloadRoute[] {
    const out: WorkloadRoute[] = [];
    for (const [iface, ep] of this.state.workloadsByInterface())
      for (const dst of [...ep.ipv4Nets, ...ep.ipv6Nets]) out.push({ dst, iface });
    return out;
  }

  /** Time (ms since the epoch) at which `apply()` must run again even if nothing changes. */
  get applyDeadline(): number | undefined {
    return this.routes.graceDeadline;
  }

  /** Routes first, as Felix does, then both families' tables; stays dirty if anything throws. */
  async apply(): Promise<PolicyApplyResult> {
    const routes = await this.routes.apply(this.workloadRoutes());
    const v4 = await this.nft.apply(renderPolicyTable(this.state, 4, this.cfg));
    const v6 = await this.nft.apply(renderPolicyTable(this.state, 6, this.cfg));
    this.dirty = false;
    return { nft: { 4: v4, 6: v6 }, routes };
  }
}
