import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { type ExecResult, run } from "../../lib/exec.js";

export type CommandResult = ExecResult;

/** Starts a long-lived helper process (e.g. `nft -i`) the same way the runner runs commands. */
export type ProcessStarter = (argv: string[]) => ChildProcessWithoutNullStreams;

/**
 * How drivers run `nft` and `ip`: argv plus optional stdin. Injected so a driver can be pointed
 * into a network namespace (`nsenter --net=…`) or at a fake. A runner that can also `start` a
 * long-lived process lets the nftables driver keep one `nft -i` session instead of spawning
 * `nft` per change.
 */
export type CommandRunner = ((argv: string[], input?: string) => Promise<CommandResult>) & {
  start?: ProcessStarter;
};

export function localRunner(prefix: string[] = []): CommandRunner {
  const split = (argv: string[]): [string, string[]] => {
    const [file, ...args] = [...prefix, ...argv];
    if (file === undefined) throw new Error("empty command");
    return [file, args];
  };
  const runner = async (argv: string[], input?: string) => {
    const [file, args] = split(argv);
    return run(file, args, input === undefined ? {} : { input });
  };
  return Object.assign(runner, {
    start: (argv: string[]) => {
      const [file, args] = split(argv);
      return spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
    },
  });
}
