/** Which flow log records a reader wants: the filters of `/flows` and `calico-lab flows`. */
import type { FlowLog } from "./aggregator.js";

export interface FlowFilter {
  action?: "allow" | "deny";
  /** Either end's namespace. */
  namespace?: string;
  /** Either end's pod name. */
  name?: string;
  /** A substring of one of the deciding policies (`np/prod/web`, `default.end-of-tier`). */
  policy?: string;
  reporter?: "src" | "dst";
  proto?: string;
  /** Either end's IP. */
  ip?: string;
}

const FIELDS = ["action", "namespace", "name", "policy", "reporter", "proto", "ip"] as const;

export class FlowFilterError extends Error {}

/** From URL query parameters; an unknown parameter or value is an error naming it. */
export function parseFlowFilter(params: URLSearchParams, ignore: readonly string[] = []): FlowFilter {
  const out: FlowFilter = {};
  for (const [key, value] of params) {
    if (ignore.includes(key)) continue;
    if (!(FIELDS as readonly string[]).includes(key))
      throw new FlowFilterError(`unknown filter '${key}' (known: ${FIELDS.join(", ")})`);
    if (key === "action" && value !== "allow" && value !== "deny")
      throw new FlowFilterError(`action must be allow or deny, not '${value}'`);
    if (key === "reporter" && value !== "src" && value !== "dst")
      throw new FlowFilterError(`reporter must be src or dst, not '${value}'`);
    (out as Record<string, string>)[key] = value;
  }
  return out;
}

export function matchesFlow(r: FlowLog, f: FlowFilter): boolean {
  if (f.action && r.action !== f.action) return false;
  if (f.reporter && r.reporter !== f.reporter) return false;
  if (f.proto && r.proto !== f.proto) return false;
  if (f.namespace && r.source_namespace !== f.namespace && r.dest_namespace !== f.namespace) return false;
  if (f.name && r.source_name !== f.name && r.dest_name !== f.name) return false;
  if (f.ip && r.source_ip !== f.ip && r.dest_ip !== f.ip) return false;
  if (f.policy && !r.policies.all_policies.some((p) => p.includes(f.policy as string))) return false;
  return true;
}
