/**
 * The CNI process contract: the runtime describes the request in CNI_* environment variables.
 * Validation mirrors the reference CNI library so runtimes see the same codes for the same
 * mistakes, with messages that say which variable is wrong.
 */
import { CniError, ErrorCode } from "./errors.js";

export const COMMANDS = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"] as const;
export type Command = (typeof COMMANDS)[number];

export interface CniArgs {
  /** Every `KEY=VALUE` pair in order, including ones this plugin does not know. */
  pairs: [string, string][];
  ignoreUnknown: boolean;
  k8sPodName?: string;
  k8sPodNamespace?: string;
  /** Requested specific address (`IP=`), used by calico-ipam for `ipAddrs`. */
  ip?: string;
}

export interface CniEnv {
  command: Command;
  containerId: string;
  netns: string;
  ifname: string;
  args: CniArgs;
  path: string[];
}

const KNOWN_ARGS = new Set([
  "IgnoreUnknown",
  "IP",
  "K8S_POD_NAME",
  "K8S_POD_NAMESPACE",
  "K8S_POD_INFRA_CONTAINER_ID",
  "K8S_POD_UID",
]);

const REQUIRED: Record<Command, string[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"],
  VERSION: [],
  STATUS: [],
  GC: [],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  throw new CniError(ErrorCode.invalidEnvironment, `CNI_ARGS: ${key} must be true/false/1/0, got "${value}"`);
}

/** Parses `K=V;K=V`. Unknown keys are an error unless `IgnoreUnknown` is set (anywhere in the list). */
export function parseCniArgs(raw: string): CniArgs {
  const args: CniArgs = { pairs: [], ignoreUnknown: false };
  if (raw === "") return args;
  for (const item of raw.split(";")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) throw new CniError(ErrorCode.invalidEnvironment, `CNI_ARGS: invalid pair "${item}"`);
    args.pairs.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  for (const [key, value] of args.pairs) {
    if (key === "IgnoreUnknown") args.ignoreUnknown = parseBool(key, value);
  }
  const unknown: string[] = [];
  for (const [key, value] of args.pairs) {
    switch (key) {
      case "K8S_POD_NAME":
        args.k8sPodName = value;
        break;
      case "K8S_POD_NAMESPACE":
        args.k8sPodNamespace = value;
        break;
      case "IP":
        args.ip = value;
        break;
      default:
        if (!KNOWN_ARGS.has(key)) unknown.push(key);
    }
  }
  if (unknown.length > 0 && !args.ignoreUnknown) {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `CNI_ARGS: unknown args [${unknown.join(" ")}]`,
      "add IgnoreUnknown=1 to CNI_ARGS to ignore arguments this plugin does not use",
    );
  }
  return args;
}

/** Interface names the kernel accepts: 1–15 bytes, not `.`/`..`, no `/`, `:` or whitespace. */
export function validateInterfaceName(name: string, variable = "CNI_IFNAME"): void {
  const fail = (why: string) => {
    throw new CniError(ErrorCode.invalidEnvironment, `${variable}: interface name ${why}`, name);
  };
  if (name === "") fail("is empty");
  if (Buffer.byteLength(name) > 15) fail(`"${name}" is longer than 15 characters`);
  if (name === "." || name === "..") fail(`"${name}" is not allowed`);
  if (/[/:\s]/.test(name)) fail(`"${name}" contains an invalid character (/, : or whitespace)`);
}

export function parseCommand(value: string | undefined): Command {
  if (value === undefined || value === "") {
    throw new CniError(ErrorCode.invalidEnvironment, "required env variables [CNI_COMMAND] missing");
  }
  if (!(COMMANDS as readonly string[]).includes(value)) {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `unknown CNI_COMMAND: ${value}`,
      `expected one of ${COMMANDS.join(", ")}`,
    );
  }
  return value as Command;
}

/** Reads and validates the CNI_* variables for `command`. */
export function parseEnv(env: NodeJS.ProcessEnv, command: Command = parseCommand(env.CNI_COMMAND)): CniEnv {
  const missing = REQUIRED[command].filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `required env variables [${missing.join(",")}] missing`,
      `CNI_COMMAND=${command} needs ${REQUIRED[command].join(", ")}`,
    );
  }
  const containerId = env.CNI_CONTAINERID ?? "";
  if (containerId !== "" && !CONTAINER_ID.test(containerId)) {
    throw new CniError(ErrorCode.invalidEnvironment, "invalid characters in containerID", containerId);
  }
  const ifname = env.CNI_IFNAME ?? "";
  if (ifname !== "" || REQUIRED[command].includes("CNI_IFNAME")) validateInterfaceName(ifname);
  return {
    command,
    containerId,
    netns: env.CNI_NETNS ?? "",
    ifname,
    args: parseCniArgs(env.CNI_ARGS ?? ""),
    path: (env.CNI_PATH ?? "").split(":").filter((p) => p !== ""),
  };
}
