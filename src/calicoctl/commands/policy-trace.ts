/**
 * `calicoctl policy trace SRC DST --port P [--protocol X] [-o table|json]`: reads what Felix
 * reads from the datastore once, then traces the packet through each host's chains.
 */
import type { CommandContext } from "../context.js";
import { CliError } from "../io.js";
import { openCommandSession } from "../session.js";

export interface TraceFlags {
  port?: string;
  protocol?: string;
  sourcePort?: string;
  icmpType?: string;
  icmpCode?: string;
  output?: string;
  config?: string;
}

function icmpField(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n > 255) throw new CliError(`${name} '${text}' must be a whole number 0-255`);
  return n;
}

export async function policyTrace(
  ctx: CommandContext,
  src: string,
  dst: string,
  flags: TraceFlags,
): Promise<void> {
  const output = flags.output ?? "table";
  if (output !== "table" && output !== "json")
    throw new CliError(`unknown output format '${output}': use table or json`);
  const icmpType = icmpField("--icmp-type", flags.icmpType);
  const icmpCode = icmpField("--icmp-code", flags.icmpCode);
  const { PolicyTracer, readFelixSnapshot, formatTrace, TraceInputError } = await import(
    "../../felix/trace/index.js"
  );
  const session = await openCommandSession(ctx, flags.config);
  let updates: Awaited<ReturnType<typeof readFelixSnapshot>>;
  try {
    updates = await readFelixSnapshot(session.client.store.kv);
  } finally {
    await session.close();
  }
  try {
    const result = new PolicyTracer(updates).trace({
      source: src,
      destination: dst,
      ...(flags.protocol !== undefined ? { protocol: flags.protocol } : {}),
      ...(flags.port !== undefined ? { port: flags.port } : {}),
      ...(flags.sourcePort !== undefined ? { sourcePort: flags.sourcePort } : {}),
      ...(icmpType !== undefined ? { icmpType } : {}),
      ...(icmpCode !== undefined ? { icmpCode } : {}),
    });
    ctx.io.out(output === "json" ? `${JSON.stringify(result, null, 2)}\n` : formatTrace(result));
  } catch (err) {
    if (err instanceof TraceInputError) throw new CliError(err.message);
    throw err;
  }
}
