/**
 * Datastore readiness as Calico's plugin checks it: `ClusterInformation/default` must say
 * `datastoreReady: true` before any workload is wired up (an operator clears it to pause CNI
 * during upgrades). Also `calico -t`, the installer's connectivity test.
 */
import type { ResourceStore } from "../datastore/types.js";
import { closeStore, openStore } from "./backend.js";
import { parseNetConf } from "./config.js";
import { CniError, ErrorCode } from "./errors.js";

export async function checkClusterReady(store: ResourceStore): Promise<void> {
  let ready: unknown;
  try {
    const ci = await store.get({ kind: "ClusterInformation", name: "default" });
    ready = (ci.spec as { datastoreReady?: unknown } | undefined)?.datastoreReady;
  } catch (err) {
    throw new CniError(ErrorCode.internal, `error getting ClusterInformation: ${(err as Error).message}`);
  }
  if (ready !== true) {
    throw new CniError(
      ErrorCode.internal,
      "Calico is currently not ready to process requests",
      "ClusterInformation/default does not have datastoreReady: true",
    );
  }
}

/** `calico -t`: succeeds (printing nothing) only when the datastore is reachable and ready. */
export async function testConnection(stdin: string): Promise<string> {
  try {
    const store = await openStore(parseNetConf(stdin, "0.2.0"));
    try {
      await checkClusterReady(store);
    } finally {
      await closeStore(store);
    }
  } catch (err) {
    throw new CniError(100, (err as Error).message, err instanceof CniError ? err.details : "");
  }
  return "";
}
