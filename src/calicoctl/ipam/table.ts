/**
 * ASCII tables in the style calicoctl's go-pretty tables print by default: `+---+` borders,
 * one space of padding, headers upper-cased and centred.
 */

export interface TableOptions {
  /** Indexes of columns whose cells are right-aligned (others are left-aligned). */
  rightAligned?: readonly number[];
}

function pad(text: string, width: number, align: "left" | "right" | "center"): string {
  const gap = width - text.length;
  if (gap <= 0) return text;
  if (align === "right") return " ".repeat(gap) + text;
  if (align === "left") return text + " ".repeat(gap);
  const left = Math.floor(gap / 2);
  return " ".repeat(left) + text + " ".repeat(gap - left);
}

export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  opts: TableOptions = {},
): string {
  const head = headers.map((h) => h.toUpperCase());
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const border = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`;
  const line = (cells: readonly string[], align: (i: number) => "left" | "right" | "center") =>
    `| ${widths.map((w, i) => pad(cells[i] ?? "", w, align(i))).join(" | ")} |`;
  const right = new Set(opts.rightAligned ?? []);
  const out = [border, line(head, () => "center"), border];
  for (const r of rows) out.push(line(r, (i) => (right.has(i) ? "right" : "left")));
  if (rows.length > 0) out.push(border);
  return `${out.join("\n")}\n`;
}
