/**
 * Block hints: the affine block a host last allocated from, per family. A hint only says where
 * to look first; the fast path checks the block's affinity and space against the datastore in
 * the same transaction that allocates, so a stale or wrong hint costs a fallback, never an error.
 *
 * The CNI plugin keeps its hints in a small JSON file beside the IPAM lock file (one process per
 * allocation, serialised by that lock), `{"<host>": {"4": "<cidr>", "6": "<cidr>"}}`.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";

export interface BlockHints {
  get(host: string, family: 4 | 6): string | undefined;
  /** Records (or, with undefined, forgets) the block to try first. */
  set(host: string, family: 4 | 6, cidr: string | undefined): void;
}

type HintTable = Record<string, { "4"?: string; "6"?: string }>;

export class MemoryHints implements BlockHints {
  protected table: HintTable = {};

  get(host: string, family: 4 | 6): string | undefined {
    return this.table[host]?.[family];
  }

  set(host: string, family: 4 | 6, cidr: string | undefined): void {
    const entry = { ...(this.table[host] ?? {}) };
    if (cidr === undefined) delete entry[family];
    else entry[family] = cidr;
    this.table = { ...this.table, [host]: entry };
  }
}

function isTable(value: unknown): value is HintTable {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (e) =>
      typeof e === "object" &&
      e !== null &&
      Object.values(e as object).every((cidr) => typeof cidr === "string"),
  );
}

/** Hints persisted in a file; a missing or unreadable file is simply no hints. */
export class FileHints extends MemoryHints {
  private dirty = false;

  constructor(readonly path: string) {
    super();
    try {
      const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
      if (isTable(parsed)) this.table = parsed;
    } catch {
      // No file yet, or garbage: start without hints.
    }
  }

  override set(host: string, family: 4 | 6, cidr: string | undefined): void {
    if (this.get(host, family) === cidr) return;
    super.set(host, family, cidr);
    this.dirty = true;
  }

  /** Writes the hints if they changed (write-then-rename, so readers never see half a file). */
  save(): void {
    if (!this.dirty) return;
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.table)}\n`, { mode: 0o644 });
    renameSync(tmp, this.path);
    this.dirty = false;
  }
}
