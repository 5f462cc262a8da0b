/** `calico-felix`: runs Felix until SIGTERM/SIGINT, or until it must restart (exit 129). */
import { Command } from "commander";
import { packageVersion } from "../../lib/version.js";
import { DEFAULT_CONFIG_FILE, startFelix } from "./felix.js";

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command("calico-felix")
    .description("Calico's per-host agent: programs routes and policy from the datastore")
    .option("-c, --config-file <FILE>", "Felix config file (INI)", DEFAULT_CONFIG_FILE)
    .option("--version", "print the version and exit")
    .helpOption("-h, --help")
    .parse(argv);
  const opts = program.opts<{ configFile: string; version?: boolean }>();
  if (opts.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  let felix: Awaited<ReturnType<typeof startFelix>>;
  try {
    felix = await startFelix({ configFile: opts.configFile });
  } catch (err) {
    process.stderr.write(`calico-felix: ${(err as Error).message}\n`);
    process.exit(1);
  }
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => void felix.stop());
  const exit = await felix.exited;
  if (exit.code !== 0) process.stderr.write(`calico-felix: exiting: ${exit.reason}\n`);
  process.exit(exit.code);
}
