/** calicoctl's entry point: run one command line, return the exit status. */
import { CommanderError } from "commander";
import { type CliIO, processIO } from "./io.js";
import { buildProgram } from "./program.js";

export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  try {
    const { program, exitCode } = await buildProgram(io, argv);
    await program.parseAsync([...argv], { from: "user" });
    return exitCode();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const text = err instanceof Error ? err.message : String(err);
    io.err(text.endsWith("\n") ? text : `${text}\n`);
    return 1;
  }
}
