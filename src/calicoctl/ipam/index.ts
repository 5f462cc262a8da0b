/**
 * `calicoctl ipam`: show, check, release and configure. The parent calicoctl program registers
 * `ipamCommand()`; `-c/--config` is read from the subcommand or from any parent that defines it.
 */
import { Command } from "commander";
import { DEFAULT_CONFIG_PATH, loadClientConfig, openDatastore } from "../../datastore/index.js";
import type { ResourceStore } from "../../datastore/types.js";
import { packageVersion } from "../../lib/version.js";
import { type ActionContext, actionContext, check, configure, release, show } from "./actions.js";

export interface IpamCommandDeps {
  /** Opens the datastore named by a calicoctl config file path. */
  openStore(configPath: string): Promise<ResourceStore>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Called with 1 after an error has been printed. */
  fail(code: number): void;
  version: string;
}

async function openFromConfig(configPath: string): Promise<ResourceStore> {
  return openDatastore(loadClientConfig({ configPath }));
}

function defaultDeps(): IpamCommandDeps {
  return {
    openStore: openFromConfig,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    fail: (code) => {
      process.exitCode = code;
    },
    version: packageVersion(),
  };
}

/** `-c` given on the command line anywhere up the chain wins; then any value; then the default. */
function configPath(cmd: Command): string {
  let fallback: string | undefined;
  for (let c: Command | null = cmd; c; c = c.parent) {
    const v = c.getOptionValue("config") as string | undefined;
    if (v === undefined) continue;
    if (c.getOptionValueSource("config") === "cli") return v;
    fallback ??= v;
  }
  return fallback ?? DEFAULT_CONFIG_PATH;
}

export function ipamCommand(overrides: Partial<IpamCommandDeps> = {}): Command {
  const deps: IpamCommandDeps = { ...defaultDeps(), ...overrides };

  const run =
    <O>(action: (ctx: ActionContext, opts: O) => Promise<void>) =>
    async (opts: O, cmd: Command): Promise<void> => {
      let store: ResourceStore | undefined;
      try {
        store = await deps.openStore(configPath(cmd));
        await action(actionContext(store, deps.stdout, deps.version), opts);
      } catch (err) {
        deps.stderr(`${err instanceof Error ? err.message : String(err)}\n`);
        deps.fail(1);
      } finally {
        await store?.close();
      }
    };

  const withConfig = (c: Command) =>
    c.option(
      "-c, --config <CONFIG>",
      `path to the calicoctl configuration file (default ${DEFAULT_CONFIG_PATH})`,
    );

  const ipam = new Command("ipam").description("IP address management");

  ipam.addCommand(
    withConfig(new Command("show"))
      .description("Show details of Calico IP address usage")
      .option("--ip <IP>", "report whether this IP address is in use")
      .option("--show-blocks", "show detailed information for IP blocks as well as pools")
      .option("--show-borrowed", "show detailed information for IPs borrowed from other nodes' blocks")
      .option("--show-configuration", "show current Calico IPAM configuration")
      .action(run(show)),
  );

  ipam.addCommand(
    withConfig(new Command("check"))
      .description("Check the integrity of the IPAM data")
      .option("-o, --output <FILE>", "path to output report file")
      .option("--show-all-ips", "print all IPs that are checked")
      .option("--show-problem-ips", "print all IPs that are leaked or not allocated properly")
      .option("--kubeconfig <KUBECONFIG>", "accepted for compatibility; Services are not checked")
      .action(run(check)),
  );

  ipam.addCommand(
    withConfig(new Command("release"))
      .description("Release a Calico assigned IP address")
      .option("--ip <IP>", "IP address to release")
      .option(
        "--from-report <REPORT>",
        "release the leaked addresses and handles found in every given report (repeatable)",
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .option("--force", "release even when the report's version differs or the datastore is not locked")
      .action(run(release)),
  );

  ipam.addCommand(
    withConfig(new Command("configure"))
      .description("Configure IPAM")
      .option(
        "--strictaffinity <true/false>",
        "when true, addresses are never borrowed from other hosts' blocks",
      )
      .option("--max-blocks-per-host <number>", "maximum number of blocks that can be affine to a host")
      .option("--kubevirt-ip-persistence <Enabled|Disabled>", "KubeVirt VM address persistence")
      .option("--ip-cooldown-seconds <number>", "seconds a released address waits before reuse (0-1200)")
      .action(run(configure)),
  );

  return ipam;
}
