/**
 * Runs every benchmark module (`bench/*.bench.ts`), or those whose file name contains one of
 * the command-line arguments: `npm run bench -- selector`.
 */
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchModule, formatFigure } from "./lib.js";

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = (await readdir(here))
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

for (const file of files) {
  const mod = (await import(join(here, file))) as { default: BenchModule };
  console.log(`\n${mod.default.title}  (${file})`);
  for (const figure of await mod.default.run()) console.log(formatFigure(figure));
}
