/**
 * Reconciles the filter table's `cali-` chains and the jumps into them. Rules are
 * compared by their `cali:<hash>` comments only, never by re-parsing iptables' rule syntax; a
 * chain whose hashes differ is rewritten whole. Everything goes through one
 * `iptables-restore --noflush` per family, so the change is atomic and foreign rules are untouched;
 * the first apply adopts what an earlier run left and removes `cali-` chains no longer wanted.
 */
import type { CommandRunner } from "../exec.js";
import type { Family } from "../nft/model.js";
import { hookRule, type IptChain, type IptTable, ruleLine, TABLE_HOOKS } from "./render.js";
import { RESTORE_SESSION_MAX_SCRIPT, RestoreSession, restoreSessionSupported } from "./restore-session.js";

export type IptablesFlavour = "nft" | "legacy";

interface ObservedTable {
  /** `cali-` chains → their rules' hashes, in order ("" for a rule without one). */
  chains: Map<string, string[]>;
  /** Kernel chain → its rules that carry a `cali:` comment, as saved (`-A ...`), with position. */
  hooks: Map<string, Array<{ line: string; hash: string; index: number }>>;
  /** `cali-` chain → the desired chain last written, when known; the same object means unchanged. */
  sources?: Map<string, IptChain>;
}

const HASH = /--comment "?cali:([\w-]+)/;

export function parseIptablesSave(text: string, table: IptTable = "filter"): ObservedTable {
  const chains = new Map<string, string[]>();
  const hooks = new Map<string, Array<{ line: string; hash: string; index: number }>>();
  const counts = new Map<string, number>();
  let inFilter = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) inFilter = line === `*${table}`;
    if (!inFilter) continue;
    if (line.startsWith(":")) {
      const name = line.slice(1).split(" ")[0] ?? "";
      if (name.startsWith("cali-")) chains.set(name, []);
      continue;
    }
    if (!line.startsWith("-A ")) continue;
    const name = line.split(" ")[1] ?? "";
    const index = counts.get(name) ?? 0;
    counts.set(name, index + 1);
    const hash = HASH.exec(line)?.[1] ?? "";
    if (name.startsWith("cali-")) chains.get(name)?.push(hash);
    else if (hash) {
      const list = hooks.get(name) ?? [];
      list.push({ line, hash, index });
      hooks.set(name, list);
    }
  }
  return { chains, hooks };
}

/** The restore script taking the observed table to the desired chains; "" when nothing differs. */
export function planIptables(
  desired: readonly IptChain[],
  observed: ObservedTable,
  table: IptTable = "filter",
): string {
  const declare: string[] = [];
  const rules: string[] = [];
  const removals: string[] = [];
  // How many observed chains a desired one matched: when all of them, none is stale, and the
  // walk over every observed chain (thousands, on every change) is skipped.
  let kept = 0;
  for (const c of desired) {
    if (observed.sources?.get(c.name) === c) {
      kept++;
      continue;
    }
    const have = observed.chains.get(c.name);
    if (have) kept++;
    if (have && have.length === c.rules.length && c.rules.every((r, i) => r.hash === have[i])) continue;
    declare.push(`:${c.name} - [0:0]`);
    for (const r of c.rules) rules.push(ruleLine(c.name, r));
  }
  const stale: string[] = [];
  if (kept !== observed.chains.size) {
    const wanted = new Set(desired.map((c) => c.name));
    for (const name of observed.chains.keys()) if (!wanted.has(name)) stale.push(name);
    stale.sort();
  }
  for (const name of stale) declare.push(`:${name} - [0:0]`);
  for (const [kernelChain, target] of desired.length > 0 ? TABLE_HOOKS[table] : []) {
    const hook = hookRule(kernelChain, target);
    const present = observed.hooks.get(kernelChain) ?? [];
    const first = present[0];
    if (present.length === 1 && first?.hash === hook.hash && first.index === 0) continue;
    for (const p of present) removals.push(p.line.replace(/^-A /, "-D "));
    rules.push(ruleLine(kernelChain, hook, "-I").replace(`-I ${kernelChain} `, `-I ${kernelChain} 1 `));
  }
  if (desired.length === 0)
    for (const present of observed.hooks.values())
      for (const p of present) removals.push(p.line.replace(/^-A /, "-D "));
  for (const name of stale) removals.push(`-X ${name}`);
  if (declare.length === 0 && rules.length === 0 && removals.length === 0) return "";
  // Hook deletions come first so a stale chain is unreferenced before it is deleted.
  const hookDeletes = removals.filter((l) => l.startsWith("-D "));
  const chainDeletes = removals.filter((l) => l.startsWith("-X "));
  return [`*${table}`, ...declare, ...hookDeletes, ...rules, ...chainDeletes, "COMMIT", ""].join("\n");
}

/**
 * What a table holds right after `desired` was applied. `previous` (what the last apply recorded,
 * no longer used by anyone else) is updated in place, keeping chains written from the same desired
 * object, so a one-chain change does not allocate a hash list for every chain of the table.
 */
function observedFromDesired(
  desired: readonly IptChain[],
  table: IptTable,
  previous?: ObservedTable,
): ObservedTable {
  const chains = previous?.chains ?? new Map<string, string[]>();
  const sources = previous?.sources ?? new Map<string, IptChain>();
  for (const c of desired) {
    if (sources.get(c.name) === c) continue;
    chains.set(
      c.name,
      c.rules.map((r) => r.hash),
    );
    sources.set(c.name, c);
  }
  // Every desired chain is recorded now, so equal sizes mean nothing else is.
  if (chains.size !== desired.length) {
    const wanted = new Set(desired.map((c) => c.name));
    for (const name of chains.keys())
      if (!wanted.has(name)) {
        chains.delete(name);
        sources.delete(name);
      }
  }
  const hooks = new Map<string, Array<{ line: string; hash: string; index: number }>>();
  if (desired.length > 0)
    for (const [kernelChain, target] of TABLE_HOOKS[table]) {
      const hook = hookRule(kernelChain, target);
      hooks.set(kernelChain, [{ line: ruleLine(kernelChain, hook), hash: hook.hash, index: 0 }]);
    }
  return { chains, hooks, sources };
}

/**
 * Like the nftables driver, diffs against what it last wrote until `invalidate()` (the periodic
 * resync) makes it read the kernel again.
 */
export class IptablesDriver {
  private readonly written = new Map<string, ObservedTable>();
  /** Long-lived restores per family, when the runner can start them and /proc can tell when they finish. */
  private readonly sessions: Partial<Record<Family, RestoreSession>> = {};
  /** Time spent waiting for restores to commit, summed over every restore (for the apply's timings). */
  kernelMs = 0;

  constructor(
    private readonly run: CommandRunner,
    readonly flavour: IptablesFlavour = "nft",
  ) {
    if (run.start && restoreSessionSupported())
      for (const family of [4, 6] as const)
        this.sessions[family] = new RestoreSession(run.start, [this.command(family, "restore"), "--noflush"]);
  }

  invalidate(): void {
    this.written.clear();
  }

  /** Ends the long-lived restores, if any (a later apply starts new ones). */
  close(): void {
    for (const s of Object.values(this.sessions)) s.close();
  }

  /** The restore process of a family's session while one runs. */
  sessionPid(family: Family): number | undefined {
    return this.sessions[family]?.pid;
  }

  /** One `--noflush` restore: through the family's session, the big initial load through a fork. */
  private async restore(family: Family, script: string): Promise<void> {
    const session = this.sessions[family];
    const t0 = performance.now();
    const out =
      session && script.length <= RESTORE_SESSION_MAX_SCRIPT
        ? await session.run(script)
        : await this.run([this.command(family, "restore"), "--noflush"], script);
    this.kernelMs += performance.now() - t0;
    if (out.code !== 0)
      throw new Error(`${this.command(family, "restore")} failed (${out.code}): ${out.stderr.trim()}`);
  }

  command(family: Family, what: "save" | "restore"): string {
    const base = family === 4 ? "iptables" : "ip6tables";
    return this.flavour === "legacy" ? `${base}-legacy-${what}` : `${base}-${what}`;
  }

  async read(family: Family, table: IptTable = "filter"): Promise<ObservedTable> {
    const out = await this.run([this.command(family, "save"), "-t", table]);
    if (out.code !== 0)
      throw new Error(`${this.command(family, "save")} failed (${out.code}): ${out.stderr.trim()}`);
    return parseIptablesSave(out.stdout, table);
  }

  /** Brings one table to `desired`; returns the script that ran ("" if none was needed). */
  async apply(family: Family, desired: readonly IptChain[], table: IptTable = "filter"): Promise<string> {
    const key = `${family} ${table}`;
    const known = this.written.get(key);
    this.written.delete(key);
    const script = planIptables(desired, known ?? (await this.read(family, table)), table);
    if (script !== "") await this.restore(family, script);
    this.written.set(key, observedFromDesired(desired, table, known));
    return script;
  }

  /**
   * Several tables in one `iptables-restore` (one process per family and batch instead of one
   * per table); returns the script that ran ("" if none was needed).
   */
  async applyTables(family: Family, tables: ReadonlyArray<[IptTable, readonly IptChain[]]>): Promise<string> {
    const scripts: string[] = [];
    const known: (ObservedTable | undefined)[] = [];
    for (const [table, desired] of tables) {
      const key = `${family} ${table}`;
      const written = this.written.get(key);
      this.written.delete(key);
      known.push(written);
      scripts.push(planIptables(desired, written ?? (await this.read(family, table)), table));
    }
    const script = scripts.join("");
    if (script !== "") await this.restore(family, script);
    for (const [i, [table, desired]] of tables.entries())
      this.written.set(`${family} ${table}`, observedFromDesired(desired, table, known[i]));
    return script;
  }

  /** Removes every `cali-` chain and hook (used when leaving iptables mode). */
  async removeAll(family: Family): Promise<void> {
    for (const table of ["nat", "filter", "mangle", "raw"] as const) await this.apply(family, [], table);
  }
}
