import { spawn } from "node:child_process";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How drivers run `nft` and `ip`: argv plus optional stdin. Injected so a driver can be pointed
 * into a network namespace (`nsenter --net=…`) or at a fake.
 */
export type CommandRunner = (argv: string[], input?: string) => Promise<CommandResult>;

export function localRunner(prefix: string[] = []): CommandRunner {
  return (argv, input) =>
    new Promise((resolve, reject) => {
      const [file, ...args] = [...prefix, ...argv];
      if (file === undefined) throw new Error("empty command");
      const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      child.once("error", reject);
      child.stdin.on("error", () => {});
      child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(input ?? "");
    });
}
