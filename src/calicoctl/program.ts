/**
 * calicoctl's command line: verbs, flags and help. Each action imports its implementation on
 * first use, so `calicoctl version --client` loads neither the datastore nor the API schemas.
 */
import { Command, Option } from "commander";
import type { CommandContext, GlobalOptions } from "./context.js";
import type { CliIO } from "./io.js";
import { CliError } from "./io.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "./log.js";

const CONFIG_HELP =
  "path to the file containing connection configuration in YAML or JSON format (default /etc/calico/calicoctl.cfg)";

/** Root options taking a separate value, which is not a command name. */
const ROOT_VALUE_OPTIONS = new Set(["-l", "--log-level", "--context"]);

function contextOf(cmd: Command, io: CliIO): CommandContext {
  const globals = cmd.optsWithGlobals() as GlobalOptions;
  return {
    io,
    globals,
    log: createLogger((globals.logLevel ?? "panic") as LogLevel, io.err),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

function resourceFlags(cmd: Command, opts: { fileRequired: boolean }): Command {
  const file = new Option(
    "-f, --filename <FILENAME>",
    "file or directory of resources (YAML or JSON); '-' reads stdin",
  );
  if (opts.fileRequired) file.makeOptionMandatory();
  return cmd
    .addOption(file)
    .option("-R, --recursive", "process the directory given with -f recursively")
    .option("--skip-empty", "do not fail on files or directories that hold no resources")
    .option("-c, --config <CONFIG>", CONFIG_HELP)
    .option("-n, --namespace <NS>", "namespace of the resources (namespaced kinds only); default 'default'");
}

function connectionFlags(cmd: Command): Command {
  return cmd
    .option("-c, --config <CONFIG>", CONFIG_HELP)
    .option("-n, --namespace <NS>", "namespace of the resource (namespaced kinds only); default 'default'");
}

export interface Program {
  program: Command;
  /** Status set by subcommands that report failure without throwing (`ipam`). */
  exitCode(): number;
}

export async function buildProgram(io: CliIO, argv: readonly string[]): Promise<Program> {
  let exitCode = 0;
  const program = new Command("calicoctl")
    .description("Manage Calico resources and IP address management in an etcd v3 datastore")
    .addOption(
      new Option("-l, --log-level <level>", "log level written to stderr")
        .choices(LOG_LEVELS)
        .default("panic"),
    )
    .option("--allow-version-mismatch", "allow client and cluster versions to differ")
    .option("--context <context>", "kubeconfig context (accepted for compatibility; calico-ts uses etcd)")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showSuggestionAfterError();

  const action =
    <A extends unknown[]>(run: (ctx: CommandContext, ...args: A) => Promise<void>) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      await run(contextOf(cmd, io), ...(args.slice(0, -1) as A));
    };

  for (const verb of ["create", "apply", "validate"] as const) {
    const cmd = resourceFlags(new Command(verb), { fileRequired: true }).description(
      {
        create: "Create resources from a file, directory or stdin; fails for resources that exist",
        apply: "Create or update resources from a file, directory or stdin",
        validate: "Validate resources from a file, directory or stdin without contacting the datastore",
      }[verb],
    );
    if (verb === "create") cmd.option("--skip-exists", "treat resources that already exist as created");
    program.addCommand(
      cmd.action(
        action(async (ctx, flags: Record<string, unknown>) => {
          const { createLike } = await import("./commands/crud.js");
          await createLike(ctx, verb, flags);
        }),
      ),
    );
  }

  program.addCommand(
    resourceFlags(new Command("replace"), { fileRequired: true })
      .description("Replace existing resources from a file, directory or stdin")
      .action(
        action(async (ctx, flags: Record<string, unknown>) => {
          const { replace } = await import("./commands/crud.js");
          await replace(ctx, flags);
        }),
      ),
  );

  program.addCommand(
    resourceFlags(new Command("delete"), { fileRequired: false })
      .description("Delete resources named on the command line or in a file, directory or stdin")
      .argument("[KIND]", "resource type, e.g. ippool, networkpolicy, gnp")
      .argument("[NAME...]", "names of the resources to delete")
      .option("-s, --skip-not-exists", "treat resources that do not exist as deleted")
      .action(
        action(async (ctx, kind: string | undefined, names: string[], flags: Record<string, unknown>) => {
          if (flags.filename === undefined && kind === undefined) {
            throw new CliError("a resource type (KIND) and NAME, or -f/--filename, is required");
          }
          if (flags.filename === undefined && names.length === 0)
            throw new CliError("no resources specified");
          const { remove } = await import("./commands/crud.js");
          await remove(ctx, kind, names, flags);
        }),
      ),
  );

  program.addCommand(
    resourceFlags(new Command("get"), { fileRequired: false })
      .description("Show resources named on the command line or in a file; a KIND alone lists them all")
      .argument("[KIND]", "resource type, e.g. ippool, networkpolicy, gnp")
      .argument("[NAME...]", "names of the resources to show")
      .option("-o, --output <FORMAT>", "ps, wide, yaml, yml, json, name or custom-columns=COL,...", "ps")
      .option("-A, --all-namespaces", "list resources in every namespace")
      .addOption(new Option("-a", "alias of --all-namespaces").hideHelp())
      .option("--export", "leave out cluster-specific metadata (with NAME)")
      .action(
        action(async (ctx, kind: string | undefined, names: string[], flags: Record<string, unknown>) => {
          const { get } = await import("./commands/get.js");
          await get(ctx, kind, names, {
            ...flags,
            output: String(flags.output),
            allNamespaces: flags.allNamespaces === true || flags.a === true,
          });
        }),
      ),
  );

  program.addCommand(
    connectionFlags(new Command("patch"))
      .description("Patch a resource in place")
      .argument("<KIND>", "resource type")
      .argument("<NAME>", "resource name")
      .requiredOption("-p, --patch <PATCH>", "the patch, as JSON")
      .option("-t, --type <TYPE>", "patch type: strategic, merge or json", "strategic")
      .action(
        action(async (ctx, kind: string, name: string, flags: { patch: string; type: string }) => {
          const { patch } = await import("./commands/patch.js");
          await patch(ctx, kind, name, flags);
        }),
      ),
  );

  program.addCommand(
    connectionFlags(new Command("label"))
      .description("Set, update or remove a label on a resource")
      .argument("<KIND>", "resource type")
      .argument("<NAME>", "resource name")
      .argument("<LABEL>", "key=value to set, or key with --remove")
      .option("--overwrite", "replace the value of a label that is already set")
      .option("--remove", "remove the label with this key")
      .action(
        action(async (ctx, kind: string, name: string, labelArg: string, flags: Record<string, unknown>) => {
          const { label } = await import("./commands/label.js");
          await label(ctx, kind, name, labelArg, flags);
        }),
      ),
  );

  program.addCommand(
    new Command("version")
      .description("Show the client version and the cluster's Calico version and type")
      .option("-c, --config <CONFIG>", CONFIG_HELP)
      .option("--client", "show the client version only")
      .option(
        "--poll <duration>",
        "re-print the versions when the cluster's change, checking at this interval",
      )
      .action(
        action(async (ctx, flags: Record<string, unknown>) => {
          const { version } = await import("./commands/version.js");
          await version(ctx, flags);
        }),
      ),
  );

  program.addCommand(
    new Command("policy").description("Policy diagnostics").addCommand(
      new Command("trace")
        .description(
          "Show the verdict for a packet from SRC to DST and the path that produced it: each tier, policy, rule and profile met on the source's egress and the destination's ingress",
        )
        .argument("<SRC>", "NAMESPACE/POD (a workload), hostendpoint/NAME, or an IP address")
        .argument("<DST>", "NAMESPACE/POD (a workload), hostendpoint/NAME, or an IP address")
        .option("--port <PORT>", "destination port (required for tcp, udp, sctp and udplite)")
        .option("--protocol <PROTOCOL>", "tcp, udp, sctp, udplite, icmp, icmpv6 or a number 1-255", "tcp")
        .option("--source-port <PORT>", "source port (default 40000)")
        .option("--icmp-type <TYPE>", "ICMP type (default echo request)")
        .option("--icmp-code <CODE>", "ICMP code (default 0)")
        .option("-o, --output <FORMAT>", "table or json", "table")
        .option("-c, --config <CONFIG>", CONFIG_HELP)
        .action(
          action(async (ctx, src: string, dst: string, flags: Record<string, string>) => {
            const { policyTrace } = await import("./commands/policy-trace.js");
            await policyTrace(ctx, src, dst, flags);
          }),
        ),
    ),
  );

  program.addCommand(
    new Command("node").description("Calico node operations").addCommand(
      new Command("status")
        .description("Show this host's Calico status: the process and its BGP sessions")
        .action(
          action(async (ctx) => {
            const { nodeStatus } = await import("./node/status.js");
            await nodeStatus(ctx);
          }),
        ),
    ),
  );

  await addIpam(program, argv, io, (code) => {
    exitCode = code;
  });
  return { program, exitCode: () => exitCode };
}

/**
 * The `ipam` subcommands, loaded only when the command line may need them (or for help). They
 * open the datastore through the same session as the other verbs, so the version guard applies.
 */
async function addIpam(
  program: Command,
  argv: readonly string[],
  io: CliIO,
  fail: (code: number) => void,
): Promise<void> {
  const verbs = program.commands.map((c) => c.name());
  const firstWord = argv.find((a, i) => !a.startsWith("-") && !ROOT_VALUE_OPTIONS.has(argv[i - 1] ?? ""));
  if (firstWord !== undefined && verbs.includes(firstWord)) return;
  const [{ ipamCommand }, { openCommandSession }] = await Promise.all([
    import("./ipam/index.js"),
    import("./session.js"),
  ]);
  const openStore = async (configPath: string) => {
    const session = await openCommandSession(contextOf(program, io), configPath);
    return session.client.store;
  };
  program.addCommand(ipamCommand({ stdout: io.out, stderr: io.err, fail, openStore }));
}
