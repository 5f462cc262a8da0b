import type { CommandRunner } from "../exec.js";
import { observedFromDesired, planUpdate } from "./diff.js";
import { type NftTable, nftFamily } from "./model.js";
import { type ObservedTable, parseObserved } from "./observe.js";
import { NftSession, SESSION_MAX_SCRIPT } from "./session.js";
import { renderTable } from "./text.js";

export interface ApplyResult {
  /** The script that was run; "" when the kernel already matched. */
  script: string;
  /** The incremental script failed and the table was rebuilt whole. */
  rebuilt: boolean;
}

/**
 * Owns one nftables table (everything in it is ours). The first apply reads the kernel, so it
 * adopts or sweeps what an earlier run left; later applies diff against what the last one wrote
 * (reading a large table costs far more than the change) until `invalidate()` — the periodic
 * resync — makes the next apply read the kernel again and repair any drift. The change is one
 * `nft -f` transaction, so a failure leaves the previous ruleset in force.
 */
export class NftablesDriver {
  private readonly written = new Map<string, ObservedTable>();
  private readonly session: NftSession | undefined;
  /** Time spent waiting for nft to commit, summed over every transaction (for the apply's timings). */
  kernelMs = 0;

  constructor(private readonly run: CommandRunner) {
    this.session = run.start && new NftSession(run.start);
  }

  invalidate(): void {
    this.written.clear();
  }

  /** The `nft -i` process while one runs. */
  get sessionPid(): number | undefined {
    return this.session?.pid;
  }

  /** Ends the `nft -i` session, if any (a later apply starts a new one). */
  close(): void {
    this.session?.close();
  }

  /** One transaction: through the session when there is one, the big initial load through `nft -f`. */
  private async transact(script: string) {
    const t0 = performance.now();
    try {
      if (this.session && script.length <= SESSION_MAX_SCRIPT) return await this.session.run(script);
      return await this.run(["nft", "-f", "-"], script);
    } finally {
      this.kernelMs += performance.now() - t0;
    }
  }

  async read(family: 4 | 6, table: string): Promise<ObservedTable | undefined> {
    const out = await this.run(["nft", "-j", "list", "table", nftFamily(family), table]);
    if (out.code !== 0) {
      if (/No such file or directory/.test(out.stderr)) return undefined;
      throw new Error(`nft list table failed (${out.code}): ${out.stderr}`);
    }
    return parseObserved(out.stdout);
  }

  async apply(desired: NftTable): Promise<ApplyResult> {
    const key = `${desired.family} ${desired.name}`;
    const known = this.written.get(key);
    this.written.delete(key);
    const script = planUpdate(desired, known ?? (await this.read(desired.family, desired.name)));
    if (script === "") {
      this.written.set(key, observedFromDesired(desired, known));
      return { script, rebuilt: false };
    }
    const out = await this.transact(script);
    if (out.code === 0) {
      this.written.set(key, observedFromDesired(desired, known));
      return { script, rebuilt: false };
    }
    // A partial view (or a rule the kernel now rejects) can make a delta fail; the whole-table
    // rebuild is self-contained.
    const full = renderTable(desired);
    const retry = await this.run(["nft", "-f", "-"], full);
    if (retry.code !== 0) throw new Error(`nft -f failed (${retry.code}): ${retry.stderr || out.stderr}`);
    this.written.set(key, observedFromDesired(desired, known));
    return { script: full, rebuilt: true };
  }

  /**
   * Several tables (IPv4 and IPv6) in one `nft -f`: one process and one kernel transaction
   * instead of one each. If the combined delta is refused, each table is applied on its own,
   * which falls back to rebuilding that table.
   */
  async applyAll(tables: readonly NftTable[]): Promise<ApplyResult[]> {
    const plans: string[] = [];
    const known: (ObservedTable | undefined)[] = [];
    for (const desired of tables) {
      const key = `${desired.family} ${desired.name}`;
      const written = this.written.get(key);
      this.written.delete(key);
      known.push(written);
      plans.push(planUpdate(desired, written ?? (await this.read(desired.family, desired.name))));
    }
    const script = plans.join("");
    if (script === "" || (await this.transact(script)).code === 0) {
      for (const [i, desired] of tables.entries())
        this.written.set(`${desired.family} ${desired.name}`, observedFromDesired(desired, known[i]));
      return plans.map((p) => ({ script: p, rebuilt: false }));
    }
    const results: ApplyResult[] = [];
    for (const desired of tables) results.push(await this.apply(desired));
    return results;
  }

  async remove(family: 4 | 6, table: string): Promise<void> {
    this.written.delete(`${family} ${table}`);
    const out = await this.run(["nft", "delete", "table", nftFamily(family), table]);
    if (out.code !== 0 && !/No such file or directory/.test(out.stderr))
      throw new Error(`nft delete table failed (${out.code}): ${out.stderr}`);
  }
}
