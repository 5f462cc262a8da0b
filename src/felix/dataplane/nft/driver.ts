import type { CommandRunner } from "../exec.js";
import { planUpdate } from "./diff.js";
import { type NftTable, nftFamily } from "./model.js";
import { type ObservedTable, parseObserved } from "./observe.js";
import { renderTable } from "./text.js";

export interface ApplyResult {
  /** The script that was run; "" when the kernel already matched. */
  script: string;
  /** The incremental script failed and the table was rebuilt whole. */
  rebuilt: boolean;
}

/**
 * Owns one nftables table (everything in it is ours). Every apply re-reads the kernel, so the
 * first apply adopts or sweeps what an earlier run left and later ones repair drift; the change
 * is one `nft -f` transaction, so a failure leaves the previous ruleset in force.
 */
export class NftablesDriver {
  constructor(private readonly run: CommandRunner) {}

  async read(family: 4 | 6, table: string): Promise<ObservedTable | undefined> {
    const out = await this.run(["nft", "-j", "list", "table", nftFamily(family), table]);
    if (out.code !== 0) {
      if (/No such file or directory/.test(out.stderr)) return undefined;
      throw new Error(`nft list table failed (${out.code}): ${out.stderr}`);
    }
    return parseObserved(out.stdout);
  }

  async apply(desired: NftTable): Promise<ApplyResult> {
    const script = planUpdate(desired, await this.read(desired.family, desired.name));
    if (script === "") return { script, rebuilt: false };
    const out = await this.run(["nft", "-f", "-"], script);
    if (out.code === 0) return { script, rebuilt: false };
    // A partial view (or a rule the kernel now rejects) can make a delta fail; the whole-table
    // rebuild is self-contained.
    const full = renderTable(desired);
    const retry = await this.run(["nft", "-f", "-"], full);
    if (retry.code !== 0) throw new Error(`nft -f failed (${retry.code}): ${retry.stderr || out.stderr}`);
    return { script: full, rebuilt: true };
  }

  async remove(family: 4 | 6, table: string): Promise<void> {
    const out = await this.run(["nft", "delete", "table", nftFamily(family), table]);
    if (out.code !== 0 && !/No such file or directory/.test(out.stderr))
      throw new Error(`nft delete table failed (${out.code}): ${out.stderr}`);
  }
}
