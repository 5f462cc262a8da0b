/**
 * What each `calicoctl ipam` subcommand does once its flags are parsed: gather data through the
 * IPAM client and the resource store, format it with the pure formatters, write the text.
 */
import { readFile, writeFile } from "node:fs/promises";
import type { Resource } from "../../api/meta.js";
import { ResourceNotFoundError, UpdateConflictError } from "../../datastore/errors.js";
import type { ResourceStore } from "../../datastore/types.js";
import { IPAMClient } from "../../ipam/client.js";
import type { IPAMConfig } from "../../ipam/config.js";
import { poolsFromResources } from "../../ipam/pools.js";
import { parseIP } from "../../lib/net.js";
import { runCheck } from "./check.js";
import { checkReports, decodeReport, encodeReport, mergeReports } from "./report.js";
import {
  findBorrowedIPs,
  formatBorrowed,
  formatIPAMConfig,
  formatIPStatus,
  formatUtilization,
} from "./show-format.js";

export interface ActionContext {
  store: ResourceStore;
  ipam: IPAMClient;
  out(text: string): void;
  /** calicoctl's version, written into and compared against check reports. */
  version: string;
}

export function actionContext(
  store: ResourceStore,
  out: (text: string) => void,
  version: string,
): ActionContext {
  return { store, ipam: IPAMClient.fromResourceStore(store), out, version };
}

/** A user error: printed to stderr as is, exit status 1. */
export class CommandError extends Error {
  override name = "CommandError";
}

function validIP(text: string): string {
  if (!parseIP(text)) throw new CommandError(`Invalid IP address specified: ${text}`);
  return text;
}

async function clusterInformation(store: ResourceStore): Promise<Resource | undefined> {
  try {
    return await store.get({ kind: "ClusterInformation", name: "default" });
  } catch (err) {
    if (err instanceof ResourceNotFoundError) return undefined;
    throw err;
  }
}

export interface ShowOptions {
  ip?: string;
  showBlocks?: boolean;
  showBorrowed?: boolean;
  showConfiguration?: boolean;
}

export async function show(ctx: ActionContext, opts: ShowOptions): Promise<void> {
  if (opts.ip !== undefined) {
    const ip = validIP(opts.ip);
    try {
      ctx.out(formatIPStatus(ip, await ctx.ipam.getAssignmentAttributes(ip)));
    } catch (err) {
      if (!(err instanceof ResourceNotFoundError)) throw err;
      ctx.out(formatIPStatus(ip, undefined));
    }
    return;
  }
  if (opts.showBorrowed) {
    const blocks = await ctx.ipam.store.listBlocks();
    ctx.out(formatBorrowed(findBorrowedIPs(blocks.map((b) => b.value))));
    return;
  }
  if (opts.showConfiguration) {
    ctx.out(formatIPAMConfig(await ctx.ipam.getIPAMConfig()));
    return;
  }
  ctx.out(formatUtilization(await ctx.ipam.getUtilization(), Boolean(opts.showBlocks)));
}

export interface CheckOptions {
  showAllIps?: boolean;
  showProblemIps?: boolean;
  output?: string;
}

export async function check(ctx: ActionContext, opts: CheckOptions): Promise<void> {
  const corrupt: { key: string; reason: string }[] = [];
  const skipped = (key: string, reason: string) => corrupt.push({ key, reason });
  const [clusterInfo, blocks, pools, nodes, weps, handles] = await Promise.all([
    clusterInformation(ctx.store),
    ctx.ipam.store.listBlocks(undefined, skipped),
    ctx.store.list("IPPool"),
    ctx.store.list("Node"),
    ctx.store.list("WorkloadEndpoint"),
    ctx.ipam.store.listHandles(skipped),
  ]);
  const result = runCheck({
    version: ctx.version,
    clusterInfo,
    blocks: blocks.map((b) => b.value),
    pools: poolsFromResources(pools.items),
    nodes: nodes.items,
    workloadEndpoints: weps.items,
    handles: handles.map((h) => ({ id: h.id, rev: h.rev })),
    corrupt: corrupt.sort((a, b) => (a.key < b.key ? -1 : 1)),
    now: new Date(),
    showAllIPs: opts.showAllIps,
    showProblemIPs: opts.showProblemIps,
  });
  ctx.out(result.text);
  if (opts.output) await writeFile(opts.output, encodeReport(result.report), { mode: 0o644 });
}

export interface ReleaseCommandOptions {
  ip?: string;
  fromReport?: string[];
  force?: boolean;
}

export async function release(ctx: ActionContext, opts: ReleaseCommandOptions): Promise<void> {
  if (opts.fromReport && opts.fromReport.length > 0) {
    await releaseFromReports(ctx, opts.fromReport, Boolean(opts.force));
    ctx.out("You may now unlock the data store.\n");
    return;
  }
  if (opts.ip === undefined) throw new CommandError("one of --ip or --from-report must be given");
  const ip = validIP(opts.ip);
  let unallocated: string[];
  try {
    ({ unallocated } = await ctx.ipam.releaseIPs([ip]));
  } catch (err) {
    throw new CommandError(`error: ${(err as Error).message}`);
  }
  if (unallocated.length > 0) throw new CommandError(`IP address ${ip} is not assigned`);
  ctx.out(`Successfully released IP address ${ip}\n`);
}

async function releaseFromReports(ctx: ActionContext, files: string[], force: boolean): Promise<void> {
  const clusterInfo = await clusterInformation(ctx.store);
  const reports = await Promise.all(
    files.map(async (file) => ({ file, report: decodeReport(await readFile(file, "utf8")) })),
  );
  for (const w of checkReports(reports, clusterInfo, ctx.version, force)) ctx.out(`${w}\n`);
  const { ips, handles } = mergeReports(reports.map((r) => r.report));
  if (ips.length > 0) {
    ctx.out(`Releasing ${ips.length} old IPs...\n`);
    try {
      const { unallocated } = await ctx.ipam.releaseIPs(ips);
      ctx.out(`Released ${ips.length - unallocated.length} IPs successfully\n`);
      if (unallocated.length > 0) {
        ctx.out(
          `${unallocated.length} addresses marked as leaked in the report had already been cleaned up.\n`,
        );
      }
    } catch (err) {
      ctx.out(
        `An error occurred while releasing some IPs: ${(err as Error).message}.  Problems are often caused by an out-of-date IPAM report.  Try regenerating the IPAM report and retry.\n`,
      );
    }
  } else {
    ctx.out("Report didn't contain any leaked IPs to clean up.\n");
  }
  if (handles.length === 0) {
    ctx.out("Report didn't contain any handles to clean up.\n");
    return;
  }
  ctx.out(`Deleting ${handles.length} handles...\n`);
  ctx.out("Key: '.' = Deleted OK; 'x' = skip, handle missing/changed.\n");
  let released = 0;
  let skipped = 0;
  let errors = 0;
  const notes: string[] = [];
  let marks = "";
  for (const h of handles) {
    try {
      const current = await ctx.ipam.store.getHandle(h.ID);
      if (!current || current.rev !== h.Revision) throw new UpdateConflictError(h.ID);
      await ctx.ipam.store.deleteHandle(h.ID, current.rev);
      released++;
      marks += ".";
    } catch (err) {
      if (err instanceof UpdateConflictError || err instanceof ResourceNotFoundError) {
        skipped++;
        marks += "x";
      } else {
        errors++;
        notes.push(`\nDeleting handle ${h.ID} failed: ${(err as Error).message}.\n`);
      }
    }
  }
  ctx.out(`${marks}${notes.join("")}\n`);
  ctx.out(`Released ${released} handles; ${skipped} skipped; ${errors} errors.\n`);
}

export interface ConfigureOptions {
  strictaffinity?: string;
  maxBlocksPerHost?: string;
  kubevirtIpPersistence?: string;
  ipCooldownSeconds?: string;
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

function parseCount(text: string, what: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new CommandError(what);
  return Number(text);
}

export async function configure(ctx: ActionContext, opts: ConfigureOptions): Promise<void> {
  const changes: Partial<IPAMConfig> = {};
  if (opts.strictaffinity !== undefined && opts.strictaffinity !== "") {
    if (GO_TRUE.has(opts.strictaffinity)) changes.strictAffinity = true;
    else if (GO_FALSE.has(opts.strictaffinity)) changes.strictAffinity = false;
    else throw new CommandError("invalid value. Use true or false to set strictaffinity");
  }
  if (opts.maxBlocksPerHost !== undefined && opts.maxBlocksPerHost !== "") {
    changes.maxBlocksPerHost = parseCount(
      opts.maxBlocksPerHost,
      "invalid value for maxblockhost. Use a valid number",
    );
  }
  if (opts.kubevirtIpPersistence !== undefined && opts.kubevirtIpPersistence !== "") {
    const v = opts.kubevirtIpPersistence;
    if (v !== "Enabled" && v !== "Disabled") {
      throw new CommandError("invalid value for --kubevirt-ip-persistence. Use Enabled or Disabled");
    }
    changes.kubeVirtVMAddressPersistence = v;
  }
  if (opts.ipCooldownSeconds !== undefined && opts.ipCooldownSeconds !== "") {
    changes.ipCooldownSeconds = parseCount(
      opts.ipCooldownSeconds,
      "invalid value for ip-cooldown-seconds. Use a valid number",
    );
  }
  if (Object.keys(changes).length === 0)
    throw new CommandError("at least one configuration option must be specified");
  try {
    await ctx.ipam.setIPAMConfig({ ...(await ctx.ipam.getIPAMConfig()), ...changes });
  } catch (err) {
    throw new CommandError(`error: ${(err as Error).message}`);
  }
  const names: [keyof IPAMConfig, string][] = [
    ["strictAffinity", "StrictAffinity"],
    ["maxBlocksPerHost", "MaxBlocksPerHost"],
    ["kubeVirtVMAddressPersistence", "KubeVirtVMAddressPersistence"],
    ["ipCooldownSeconds", "IPCooldownSeconds"],
  ];
  for (const [key, name] of names) {
    if (changes[key] !== undefined) ctx.out(`Successfully set ${name} to: ${String(changes[key])}\n`);
  }
}
