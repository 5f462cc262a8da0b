/**
 * Delegation to another CNI plugin (the IPAM plugin) the way the CNI spec does it: find the
 * executable named by `type` on CNI_PATH and run it with the same stdin and environment, changing
 * only CNI_COMMAND. Any IPAM plugin works, e.g. host-local from containernetworking-plugins.
 */
import { constants } from "node:fs";
import { access, realpath } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../lib/exec.js";
import { CniError, ErrorCode } from "./errors.js";
import { type CniResult, parseResult } from "./result.js";

const PLUGIN_TIMEOUT_MS = 120_000;

export async function findPlugin(type: string, path: string[]): Promise<string> {
  if (type === "" || type.includes("/")) {
    throw new CniError(ErrorCode.invalidNetworkConfig, `invalid plugin type "${type}"`);
  }
  for (const dir of path) {
    const candidate = join(dir, type);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  throw new CniError(ErrorCode.internal, `failed to find plugin "${type}" in path [${path.join(" ")}]`);
}

/**
 * Whether `type` on `path` resolves to this package's own executable of that name. Then the
 * caller may run it in-process, saving a Node start and a second etcd connection; any other
 * binary of that name (say, Calico's own) is still executed.
 */
export async function resolvesToOwn(type: string, path: string[]): Promise<boolean> {
  try {
    const found = await realpath(await findPlugin(type, path));
    return found === (await realpath(fileURLToPath(new URL(`../../bin/${type}`, import.meta.url))));
  } catch {
    return false;
  }
}

/** Turns a failed plugin run into the error it reported (keeping its code), or a generic one. */
function pluginError(type: string, code: number, stdout: string, stderr: string): CniError {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e.code === "number" && typeof e.msg === "string") {
      return new CniError(e.code, e.msg, typeof e.details === "string" ? e.details : "");
    }
  } catch {
    // Not a CNI error object; fall through.
  }
  const detail = (stdout.trim() || stderr.trim()).slice(-2000);
  return new CniError(ErrorCode.internal, `plugin ${type} failed with exit status ${code}`, detail);
}

export interface DelegateRequest {
  type: string;
  command: "ADD" | "DEL" | "CHECK" | "STATUS" | "GC";
  stdin: string;
  /** The CNI_* environment to pass; CNI_COMMAND is overridden. */
  env: NodeJS.ProcessEnv;
  path: string[];
}

/** Runs the plugin; returns its parsed result for ADD, undefined for the other verbs. */
export async function execPlugin(req: DelegateRequest): Promise<CniResult | undefined> {
  const file = await findPlugin(req.type, req.path);
  const res = await run(file, [], {
    input: req.stdin,
    env: { ...req.env, CNI_COMMAND: req.command },
    timeoutMs: PLUGIN_TIMEOUT_MS,
  });
  if (res.code !== 0) throw pluginError(req.type, res.code, res.stdout, res.stderr);
  if (req.command !== "ADD") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.stdout);
  } catch (err) {
    throw new CniError(
      ErrorCode.decodingFailure,
      `could not decode the result of IPAM plugin ${req.type}`,
      `${(err as Error).message}: ${res.stdout.slice(0, 500)}`,
    );
  }
  return parseResult(parsed);
}
