/**
 * The `ipam check -o` report (Calico's JSON layout) and how `ipam release --from-report` uses
 * reports: safety checks against the cluster, and the intersection of several reports.
 */
import type { Resource } from "../../api/meta.js";
import { type BigJsonValue, parseBigJson, stringifyBigJson, toBigInt } from "../../ipam/bigjson.js";
import type { ReleaseOptions } from "../../ipam/release.js";

export interface CheckAllocation {
  ip: string;
  handle?: string;
  /** Block sequence number when allocated: a 64-bit value, kept exact. */
  sequenceNumber?: bigint;
  pod?: string;
  namespace?: string;
  node?: string;
  type?: string;
  creationTimestamp?: string;
  inUse: boolean;
  borrowed?: boolean;
  owners: string[] | null;
}

/** Calico writes these with Go's default (capitalised) field names. */
export interface HandleInfo {
  ID: string;
  UID: string | null;
  Revision: string;
}

export interface CheckReport {
  version: string;
  clusterGUID: string;
  datastoreLocked: boolean;
  clusterInformationRevision: string;
  clusterType: string;
  allocations: Record<string, CheckAllocation[]>;
  leakedHandles?: HandleInfo[];
}

export function encodeReport(r: CheckReport): string {
  const allocations: Record<string, unknown> = {};
  for (const [ip, list] of Object.entries(r.allocations)) {
    allocations[ip] = list.map((a) => ({
      ip: a.ip,
      handle: a.handle || undefined,
      sequenceNumber: a.sequenceNumber,
      pod: a.pod || undefined,
      namespace: a.namespace || undefined,
      node: a.node || undefined,
      type: a.type || undefined,
      creationTimestamp: a.creationTimestamp || undefined,
      inUse: a.inUse,
      borrowed: a.borrowed || undefined,
      owners: a.owners,
    }));
  }
  return stringifyBigJson(
    {
      version: r.version,
      clusterGUID: r.clusterGUID,
      datastoreLocked: r.datastoreLocked,
      clusterInformationRevision: r.clusterInformationRevision,
      clusterType: r.clusterType,
      allocations,
      leakedHandles: r.leakedHandles?.length ? r.leakedHandles : undefined,
    },
    "  ",
  );
}

function str(v: BigJsonValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function obj(v: BigJsonValue | undefined): Record<string, BigJsonValue> {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v : {};
}

export class ReportError extends Error {
  override name = "ReportError";
}

export function decodeReport(text: string): CheckReport {
  let raw: BigJsonValue;
  try {
    raw = parseBigJson(text);
  } catch (err) {
    throw new ReportError(`invalid IPAM report: ${(err as Error).message}`);
  }
  const top = obj(raw);
  const allocations: Record<string, CheckAllocation[]> = {};
  for (const [ip, list] of Object.entries(obj(top.allocations))) {
    if (!Array.isArray(list)) continue;
    allocations[ip] = list.map((item) => {
      const a = obj(item);
      const alloc: CheckAllocation = {
        ip: str(a.ip) ?? ip,
        inUse: a.inUse === true,
        owners: Array.isArray(a.owners) ? a.owners.filter((o): o is string => typeof o === "string") : null,
      };
      const handle = str(a.handle);
      if (handle) alloc.handle = handle;
      const seq = toBigInt(a.sequenceNumber);
      if (seq !== undefined) alloc.sequenceNumber = seq;
      return alloc;
    });
  }
  // Accept both Go's default field names and lower-case ones.
  const handles = Array.isArray(top.leakedHandles)
    ? top.leakedHandles.map((h) => {
        const o = obj(h);
        return {
          ID: str(o.ID) ?? str(o.id) ?? "",
          UID: str(o.UID) ?? str(o.uid) ?? null,
          Revision: str(o.Revision) ?? str(o.revision) ?? "",
        };
      })
    : undefined;
  return {
    version: str(top.version) ?? "",
    clusterGUID: str(top.clusterGUID) ?? "",
    datastoreLocked: top.datastoreLocked === true,
    clusterInformationRevision: str(top.clusterInformationRevision) ?? "",
    clusterType: str(top.clusterType) ?? "",
    allocations,
    leakedHandles: handles,
  };
}

/**
 * Refuses reports that do not belong to this cluster, or (without `force`) were made by another
 * calicoctl version, when none was taken at the current ClusterInformation revision, or when the
 * datastore is not locked. Returns the warnings `force` turned into.
 */
export function checkReports(
  reports: readonly { file: string; report: CheckReport }[],
  clusterInfo: Resource | undefined,
  version: string,
  force: boolean,
): string[] {
  const spec = (clusterInfo?.spec ?? {}) as Record<string, unknown>;
  const guid = typeof spec.clusterGUID === "string" ? spec.clusterGUID : "";
  const revision = clusterInfo?.metadata.resourceVersion ?? "";
  const warnings: string[] = [];
  let current = false;
  for (const { file, report } of reports) {
    if (report.clusterGUID !== guid) {
      throw new ReportError(
        `cluster does not match the provided report (${file}): mismatched cluster GUID. Refusing to release`,
      );
    }
    if (report.version !== version) {
      if (!force) {
        throw new ReportError(
          `the provided report (${file}) was produced using a different version (${report.version}) of calicoctl. Refusing to release`,
        );
      }
      warnings.push(
        "WARNING: Report was produced using a different version of calicoctl. Ignoring due to --force option",
      );
    }
    if (report.clusterInformationRevision === revision) current = true;
  }
  if (!current) {
    throw new ReportError(
      "the provided reports are all stale - at least one should be up-to-date. Please generate a new report while the data store is locked and try again",
    );
  }
  if (spec.datastoreReady !== false) {
    if (!force)
      throw new ReportError("data store is not locked. Either lock the data store, or re-run with --force");
    warnings.push("WARNING: Data store is not locked. Ignoring due to --force option");
  }
  return warnings;
}

/** Leaks present in every report: addresses (with handle and sequence number) and unchanged handles. */
export function mergeReports(reports: readonly CheckReport[]): {
  ips: ReleaseOptions[];
  handles: HandleInfo[];
} {
  let ips: Map<string, ReleaseOptions> | undefined;
  let handles: Map<string, HandleInfo> | undefined;
  for (const r of reports) {
    const nextIPs = new Map<string, ReleaseOptions>();
    for (const list of Object.values(r.allocations)) {
      for (const a of list) {
        if (a.inUse || (ips && !ips.has(a.ip))) continue;
        const opts: ReleaseOptions = { address: a.ip };
        if (a.handle) opts.handle = a.handle;
        if (a.sequenceNumber !== undefined) opts.sequenceNumber = a.sequenceNumber;
        nextIPs.set(a.ip, opts);
      }
    }
    ips = nextIPs;
    const nextHandles = new Map<string, HandleInfo>();
    for (const h of r.leakedHandles ?? []) {
      const before = handles?.get(h.ID);
      if (!handles || (before && before.Revision === h.Revision)) nextHandles.set(h.ID, h);
    }
    handles = nextHandles;
  }
  return { ips: [...(ips?.values() ?? [])], handles: [...(handles?.values() ?? [])] };
}
