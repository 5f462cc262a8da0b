/** `calicoctl version`: this client's version and, unless `--client`, the cluster's. */
import { parseGoDuration } from "../../api/duration.js";
import { packageVersion as clientVersion, gitCommit } from "../../lib/version.js";
import type { CommandContext } from "../context.js";
import { CliError } from "../io.js";
import { openCommandSession } from "../session.js";

export interface VersionFlags {
  client?: boolean;
  poll?: string;
  config?: string;
}

function clientLines(): string {
  return `Client Version:    ${clientVersion()}\nGit commit:        ${gitCommit()}\n`;
}

export async function version(ctx: CommandContext, flags: VersionFlags): Promise<void> {
  ctx.io.out(clientLines());
  if (flags.client) return;
  const pollMs = flags.poll === undefined ? undefined : Number(parseGoDuration(flags.poll) ?? -1n) / 1e6;
  if (pollMs !== undefined && !(pollMs > 0)) throw new CliError(`invalid --poll duration '${flags.poll}'`);
  const session = await openCommandSession(ctx, flags.config, { guarded: false });
  const { ResourceNotFoundError } = await import("../../datastore/errors.js");
  const clusterLines = async () => {
    let spec: Record<string, unknown> = {};
    try {
      spec = (await session.client.get({ kind: "ClusterInformation", name: "default" })).spec ?? {};
    } catch (err) {
      if (!(err instanceof ResourceNotFoundError)) {
        throw new CliError(`unable to retrieve Cluster Version or Type: ${(err as Error).message}`);
      }
    }
    const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : "unknown");
    return `Cluster Version:   ${text(spec.calicoVersion)}\nCluster Type:      ${text(spec.clusterType)}\n`;
  };
  try {
    let shown = await clusterLines();
    ctx.io.out(shown);
    while (pollMs !== undefined) {
      await ctx.sleep(pollMs);
      const now = await clusterLines();
      if (now !== shown) ctx.io.out(clientLines() + now);
      shown = now;
    }
  } finally {
    await session.close();
  }
}
