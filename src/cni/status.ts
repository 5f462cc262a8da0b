/**
 * CNI 1.1 STATUS: success means "ready to ADD". Not reachable or not ready answers code 50
 * (plugin not available), which tells the runtime to hold pod creation rather than fail pods.
 */
import type { ResourceStore } from "../datastore/types.js";
import { run } from "../lib/exec.js";
import type { NetConf } from "./config.js";
import { runEnv } from "./context.js";
import { execPlugin, findPlugin, resolvesToOwn } from "./delegate.js";
import { CniError, ErrorCode } from "./errors.js";
import { checkClusterReady } from "./readiness.js";

function unavailable(err: unknown): CniError {
  const e = err as Error;
  return new CniError(
    ErrorCode.pluginNotAvailable,
    `plugin not available: ${e.message}`,
    (err as CniError).details ?? "",
  );
}

export async function ipamStatus(store: ResourceStore): Promise<undefined> {
  let pools: { spec?: unknown }[];
  try {
    pools = (await store.list("IPPool")).items;
  } catch (err) {
    throw unavailable(err);
  }
  const enabled = pools.filter((p) => (p.spec as { disabled?: unknown } | undefined)?.disabled !== true);
  if (enabled.length === 0) throw unavailable(new Error("no enabled IP pools to assign addresses from"));
  return undefined;
}

/** Whether a delegated plugin speaks 1.1 (older ones do not know the STATUS verb). */
async function speaksStatus(file: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const res = await run(file, [], {
    env: { ...env, CNI_COMMAND: "VERSION" },
    input: '{"cniVersion":"1.1.0"}',
  });
  try {
    const info = JSON.parse(res.stdout) as { supportedVersions?: unknown };
    return Array.isArray(info.supportedVersions) && info.supportedVersions.includes("1.1.0");
  } catch {
    return false;
  }
}

export async function calicoStatus(store: ResourceStore, conf: NetConf, path: string[]): Promise<undefined> {
  try {
    await checkClusterReady(store);
  } catch (err) {
    throw unavailable(err);
  }
  if (conf.ipam.type === "") return undefined;
  if (conf.ipam.type === "calico-ipam" && (await resolvesToOwn("calico-ipam", path)))
    return ipamStatus(store);
  const file = await findPlugin(conf.ipam.type, path);
  if (await speaksStatus(file, runEnv())) {
    await execPlugin({
      type: conf.ipam.type,
      command: "STATUS",
      stdin: JSON.stringify(conf.raw),
      env: runEnv(),
      path,
    });
  }
  return undefined;
}
