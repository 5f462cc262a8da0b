/**
 * Entry point shared by the `calico` and `calico-ipam` executables. It imports only the small
 * protocol modules; the plugin bodies (and through them the etcd client) load only for verbs that
 * need them, so VERSION and argument errors answer at bare Node start-up cost.
 */

import { readAll } from "../lib/stream.js";
import { type NetConf, parseNetConf } from "./config.js";
import { runEnv } from "./context.js";
import { type CniEnv, type Command, parseCommand, parseEnv } from "./env.js";
import { CniError, ErrorCode, toCniError } from "./errors.js";
import { log } from "./log.js";
import { assertSupportedVersion, assertVerbAllowed, versionInfo } from "./versions.js";

export type PluginName = "calico" | "calico-ipam";

/** What a plugin body returns: text for stdout (a result), or nothing. */
export type Handler = (command: Command, env: CniEnv, conf: NetConf) => Promise<string | undefined>;

/** What a run prints on stdout and the exit status it ends with. */
export interface RunOutcome {
  stdout: string;
  code: number;
}

async function readStdin(): Promise<string> {
  return (await readAll(process.stdin)).toString();
}

/** Programming errors are reported like Calico's recovered panics, with the stack in details. */
function describeFailure(err: unknown, command: string): CniError {
  if (err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError) {
    return new CniError(
      ErrorCode.internal,
      `Calico CNI panicked during ${command}: ${err.message}`,
      err.stack ?? "",
    );
  }
  return toCniError(err);
}

async function loadHandler(plugin: PluginName): Promise<Handler> {
  return plugin === "calico"
    ? (await import("./calico.js")).handle
    : (await import("./calico-ipam.js")).handle;
}

async function runFlag(plugin: PluginName, flag: string, stdin: () => Promise<string>): Promise<string> {
  if (flag === "-v" || flag === "--version")
    return `${(await import("../lib/version.js")).packageVersion()}\n`;
  if (plugin === "calico" && flag === "-t")
    return (await import("./readiness.js")).testConnection(await stdin());
  throw new CniError(ErrorCode.invalidEnvironment, `unknown flag ${flag}`, "supported: -v, -t (calico only)");
}

/**
 * One plugin invocation: `argv`, the run's environment (see context.ts) and its stdin in, the
 * stdout and exit status out. `commandShell` starts the plugin's command shell (shell.ts), which
 * only a short-lived plugin process wants.
 */
export async function runPlugin(
  plugin: PluginName,
  argv: string[],
  stdin: () => Promise<string>,
  commandShell: boolean,
): Promise<RunOutcome> {
  const processEnv = runEnv();
  let command = processEnv.CNI_COMMAND ?? "";
  try {
    const flag = argv[0];
    if (flag !== undefined) return { stdout: await runFlag(plugin, flag, stdin), code: 0 };
    const parsed = parseCommand(processEnv.CNI_COMMAND);
    command = parsed;
    if (parsed === "VERSION") return { stdout: `${JSON.stringify(versionInfo(), null, 4)}\n`, code: 0 };
    // The calico plugin's verbs run several commands: they get their shell now, while this
    // process is small and cheap to fork. calico-ipam runs one (flock), so a shell would only
    // add a hop.
    if (commandShell && plugin === "calico" && (parsed === "ADD" || parsed === "DEL" || parsed === "CHECK"))
      (await import("./shell.js")).startCommandShell();
    // Calico marks its own arguments ignorable so delegated IPAM plugins accept the Kubernetes ones.
    if (plugin === "calico") {
      const args = processEnv.CNI_ARGS;
      // No trailing ";": libcni-based plugins reject an empty pair.
      processEnv.CNI_ARGS = args ? `IgnoreUnknown=1;${args}` : "IgnoreUnknown=1";
    }
    const env = parseEnv(processEnv, parsed);
    const conf = parseNetConf(await stdin(), plugin === "calico" ? "0.2.0" : "0.1.0");
    assertSupportedVersion(conf.cniVersion);
    assertVerbAllowed(parsed, conf.cniVersion);
    log.configure(
      conf.logLevel,
      conf.logFilePath
        ? { path: conf.logFilePath, maxSizeMB: conf.logFileMaxSizeMB, maxCount: conf.logFileMaxCount }
        : undefined,
    );
    log.with({ plugin, command: parsed, containerID: env.containerId });
    const handler = await loadHandler(plugin);
    return { stdout: (await handler(parsed, env, conf)) ?? "", code: 0 };
  } catch (err) {
    const e = describeFailure(err, command);
    if (e.code === ErrorCode.internal) log.error(e.message, e.details ? { details: e.details } : undefined);
    return { stdout: `${JSON.stringify(e, null, 4)}\n`, code: 1 };
  }
}

/** The plugin process: one run over this process's argv, environment and stdin, then exit. */
export async function main(plugin: PluginName, argv = process.argv.slice(2)): Promise<never> {
  const { stdout, code } = await runPlugin(plugin, argv, readStdin, true);
  return new Promise(() => {
    const exit = () => process.exit(code);
    if (stdout) process.stdout.write(stdout, exit);
    else exit();
  });
}
