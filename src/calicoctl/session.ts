/**
 * A connection to the datastore for one command: configuration from `-c` or the environment,
 * the client pipeline on top, and the version-mismatch guard. The datastore and client modules
 * (etcd, gRPC, the API schemas) are imported here, on first use, so commands that never touch
 * the datastore start quickly.
 */
import type { CalicoClient } from "../client/index.js";
import { packageVersion as clientVersion, releaseOf } from "../lib/version.js";
import type { CommandContext } from "./context.js";
import { CliError } from "./io.js";
import type { Logger } from "./log.js";

export interface Session {
  client: CalicoClient;
  close(): Promise<void>;
}

export interface SessionOptions {
  configPath?: string;
  /** Skip the version-mismatch guard (`--allow-version-mismatch`, or commands exempt from it). */
  allowVersionMismatch: boolean;
  log: Logger;
}

/** Refuses to work on a cluster whose Calico release differs from this client's. */
async function checkVersionMismatch(client: CalicoClient, log: Logger): Promise<void> {
  const { DatastoreUnavailableError, ResourceNotFoundError } = await import("../datastore/errors.js");
  let clusterVersion: unknown;
  try {
    clusterVersion = (await client.get({ kind: "ClusterInformation", name: "default" })).spec?.calicoVersion;
  } catch (err) {
    if (err instanceof ResourceNotFoundError) {
      log.info("Skip version mismatch checking due to ClusterInformation not being present");
      return;
    }
    // An unreachable datastore is the real problem; the override hint would mislead.
    if (err instanceof DatastoreUnavailableError) throw err;
    throw new CliError(
      `unable to get Cluster Information to verify version mismatch: ${(err as Error).message}\n` +
        "Use --allow-version-mismatch to override",
    );
  }
  if (typeof clusterVersion !== "string" || clusterVersion === "") {
    log.info("Skip version mismatch checking due to CalicoVersion not being set");
    return;
  }
  const version = clientVersion();
  const cluster = releaseOf(clusterVersion);
  if (cluster !== releaseOf(version)) {
    throw new CliError(
      `version mismatch.\nClient Version:   ${version}\nCluster Version:  ${cluster}\n` +
        "Use --allow-version-mismatch to override",
    );
  }
}

/** A value someone else wrote under a Calico key: named on stderr, left out of the output. */
function skippedWarning(key: string, reason: string): void {
  process.stderr.write(`Skipping unreadable value at ${key}: ${reason}\n`);
}

async function openSession(opts: SessionOptions): Promise<Session> {
  const [{ loadClientConfig, openDatastore }, { CalicoClient }] = await Promise.all([
    import("../datastore/index.js"),
    import("../client/index.js"),
  ]);
  const config = loadClientConfig(opts.configPath ? { configPath: opts.configPath } : {});
  const store = await openDatastore(config, { onSkipped: skippedWarning });
  const client = new CalicoClient(store, {
    cacheTierLookups: true,
    releasePoolAffinities: async (cidr) => {
      const { IPAMClient } = await import("../ipam/index.js");
      await IPAMClient.fromResourceStore(store).releasePoolAffinities(cidr);
    },
  });
  const session = { client, close: () => store.close() };
  if (opts.allowVersionMismatch) return session;
  try {
    await checkVersionMismatch(client, opts.log);
  } catch (err) {
    await session.close();
    throw err;
  }
  return session;
}

/**
 * The session a command opens: its own `-c` path, the root `--allow-version-mismatch` flag, and
 * its logger. Commands exempt from the version guard pass `guarded: false`.
 */
export function openCommandSession(
  ctx: CommandContext,
  configPath: string | undefined,
  opts: { guarded?: boolean } = {},
): Promise<Session> {
  return openSession({
    ...(configPath !== undefined ? { configPath } : {}),
    allowVersionMismatch: opts.guarded === false || ctx.globals.allowVersionMismatch === true,
    log: ctx.log,
  });
}
