/**
 * The layout Go's tabwriter gives calicoctl's tables (min width 5, padding 3, space padded):
 * every cell, the last included, is padded to its column's widest cell plus three.
 */

const MIN_WIDTH = 5;
const PADDING = 3;

const width = (text: string) => [...text].length;

export function formatTable(rows: readonly (readonly string[])[]): string {
  const columns: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      columns[i] = Math.max(columns[i] ?? MIN_WIDTH, width(cell) + PADDING);
    });
  }
  return rows
    .map((row) => `${row.map((cell, i) => cell + " ".repeat(columns[i]! - width(cell))).join("")}\n`)
    .join("");
}
