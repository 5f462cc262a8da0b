import { type ExecResult, run } from "../../lib/exec.js";

export type CommandResult = ExecResult;

/**
 * How drivers run `nft` and `ip`: argv plus optional stdin. Injected so a driver can be pointed
 * into a network namespace (`nsenter --net=…`) or at a fake.
 */
export type CommandRunner = (argv: string[], input?: string) => Promise<CommandResult>;

export function localRunner(prefix: string[] = []): CommandRunner {
  return async (argv, input) => {
    const [file, ...args] = [...prefix, ...argv];
    if (file === undefined) throw new Error("empty command");
    return run(file, args, input === undefined ? {} : { input });
  };
}
