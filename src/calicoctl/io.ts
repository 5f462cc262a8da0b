/** The process boundary of calicoctl: output streams, stdin and the exit status. */
import { readAll } from "../lib/stream.js";

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** The whole of standard input (for `-f -`). */
  readStdin(): Promise<string>;
}

/** A failure whose message is printed to stderr as is (Calico prints errors without a prefix). */
export class CliError extends Error {
  override name = "CliError";
}

export function processIO(): CliIO {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    readStdin: async () => (await readAll(process.stdin)).toString("utf8"),
  };
}

/** Go's `%v` of an error slice: `[first second]`. */
export function goErrorList(errors: readonly Error[]): string {
  return `[${errors.map((e) => e.message).join(" ")}]`;
}
