/**
 * CHECK for the calico plugin: the container interface still carries the endpoint's addresses
 * and the host side still exists. Read-only.
 */
import type { Resource } from "../api/meta.js";
import { hostHasLink } from "./dataplane.js";
import type { CniEnv } from "./env.js";
import { CniError, ErrorCode } from "./errors.js";
import { nsenterArgs } from "./ipcmd.js";
import { runCommand as run } from "./shell.js";

interface AddrInfo {
  local?: string;
  prefixlen?: number;
}

/** Addresses (`ip/prefix`) in `ip -j addr show` output. */
export function parseAddresses(stdout: string): string[] {
  try {
    const links = JSON.parse(stdout || "[]") as { addr_info?: AddrInfo[] }[];
    return links.flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
  } catch {
    return [];
  }
}

function fail(msg: string): CniError {
  return new CniError(ErrorCode.internal, msg);
}

export async function checkContainer(env: CniEnv, wep: Resource): Promise<void> {
  const spec = (wep.spec ?? {}) as { ipNetworks?: string[]; interfaceName?: string; containerID?: string };
  if (spec.containerID && spec.containerID !== env.containerId) {
    throw fail(`workload endpoint ${wep.metadata.name} belongs to container ${spec.containerID}`);
  }
  if (spec.interfaceName && !(await hostHasLink(spec.interfaceName))) {
    throw fail(`host interface ${spec.interfaceName} does not exist`);
  }
  const res = await run("nsenter", nsenterArgs(env.netns, ["ip", "-j", "addr", "show", "dev", env.ifname]));
  if (res.code !== 0)
    throw fail(`container interface ${env.ifname} not found in ${env.netns}: ${res.stderr.trim()}`);
  const present = parseAddresses(res.stdout);
  const missing = (spec.ipNetworks ?? []).filter((n) => !present.includes(n));
  if (missing.length > 0) throw fail(`container interface ${env.ifname} lacks ${missing.join(", ")}`);
}
