/** `calicoctl get -o ...`: the output formats and how a command's results are rendered in each. */
import { kindInfo, type Resource } from "../../api/index.js";
import { isListOutput, type Output } from "../actions.js";
import { CliError } from "../io.js";
import { type CellContext, COLUMNS, type KindColumns } from "./columns.js";
import { toJSON, toYAML } from "./serialize.js";
import { formatTable } from "./table.js";

export type OutputFormat =
  | { type: "yaml" | "json" | "name" }
  | { type: "table"; wide: boolean }
  | { type: "custom"; headings: string[] };

/** Parses `-o`; throws for a format calicoctl does not know. */
export function parseOutputFormat(text: string): OutputFormat {
  switch (text) {
    case "yaml":
    case "yml":
      return { type: "yaml" };
    case "json":
      return { type: "json" };
    case "name":
      return { type: "name" };
    case "ps":
      return { type: "table", wide: false };
    case "wide":
      return { type: "table", wide: true };
  }
  const [key, value = ""] = text.split(/=(.*)/s);
  if (key === "custom-columns") {
    if (value === "") throw new CliError(`invalid output format: ${text}`);
    return { type: "custom", headings: value.toUpperCase().split(",") };
  }
  if (key === "go-template" || key === "go-template-file") {
    throw new CliError(
      `output format '${key}' is not supported by calico-ts; use json, yaml or custom-columns`,
    );
  }
  throw new CliError(`unrecognized output format '${text}'`);
}

export interface RenderOptions {
  format: OutputFormat;
  /** `-n` or `-A` was given: namespaced kinds get a leading NAMESPACE column. */
  printNamespace: boolean;
  /** Looked up only when a Node table shows the ASN column. */
  defaultASNumber: () => Promise<string>;
}

function kindOfOutput(output: Output): string {
  return isListOutput(output) ? output.kind.slice(0, -"List".length) : output.kind;
}

function headingsFor(kind: string, columns: KindColumns, opts: RenderOptions): string[] {
  const { format } = opts;
  const chosen =
    format.type === "custom"
      ? format.headings
      : format.type === "table" && format.wide
        ? columns.wide
        : columns.defaults;
  const headings = opts.printNamespace && kindInfo(kind)?.namespaced ? ["NAMESPACE", ...chosen] : [...chosen];
  for (const heading of headings) {
    if (!columns.cells[heading]) {
      throw new CliError(
        `unknown heading ${heading}, valid values are: ${Object.keys(columns.cells).join(", ")}`,
      );
    }
  }
  return headings;
}

async function renderTables(outputs: readonly Output[], opts: RenderOptions): Promise<string> {
  let text = "";
  let defaultAS: string | undefined;
  for (const output of outputs) {
    const kind = kindOfOutput(output);
    const columns = COLUMNS[kind];
    if (!columns) throw new CliError(`no table format for kind ${kind}`);
    const headings = headingsFor(kind, columns, opts);
    if (kind === "Node" && headings.includes("ASN")) defaultAS ??= await opts.defaultASNumber();
    const ctx: CellContext = { defaultASNumber: defaultAS ?? "" };
    const items = isListOutput(output) ? output.items : [output];
    const rows = items.map((item) => headings.map((h) => columns.cells[h]!(item, ctx)));
    text += `${formatTable([headings, ...rows])}\n`;
  }
  return text;
}

function names(outputs: readonly Output[]): string {
  const items = outputs.flatMap((o): Resource[] => (isListOutput(o) ? o.items : [o]));
  return items.map((r) => `${r.kind.toLowerCase()}/${r.metadata.name ?? ""}\n`).join("");
}

/** The whole text to print; nothing is printed when rendering fails part way. */
export async function render(outputs: readonly Output[], opts: RenderOptions): Promise<string> {
  const single = outputs.length === 1 ? outputs[0] : outputs;
  switch (opts.format.type) {
    case "yaml":
      return outputs.length === 0 ? "" : toYAML(single);
    case "json":
      return outputs.length === 0 ? "" : toJSON(single);
    case "name":
      return names(outputs);
    default:
      return renderTables(outputs, opts);
  }
}
