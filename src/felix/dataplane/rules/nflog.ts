/**
 * NFLOG prefixes that name the rule deciding a packet, in Calico's encoding, so a flow log reader
 * can say which policy and rule allowed or denied a flow:
 *
 *   `AODIII|ID`  action (A)llow/(D)eny/(P)ass, owner (P)olicy/p(R)ofile, direction (I)ngress/
 *                (E)gress, rule index; ID `np/<ns>/<name>`, `gnp/<name>` or the profile name
 *   `DPD|tier`   end of tier: no policy in the tier decided
 *   `DRD`        no profile matched
 *
 * Prefixes of 63 characters or more keep their first and last 10 characters around a hash, as
 * Calico does, so a prefix never exceeds what the kernel carries.
 */
import { createHash } from "node:crypto";
import type { Direction } from "./names.js";

/** Group 1 carries inbound (to-workload) verdicts, group 2 outbound. */
export const NFLOG_INBOUND_GROUP = 1;
export const NFLOG_OUTBOUND_GROUP = 2;
/** Bytes of each logged packet copied to the reader: the IP header and the ports. */
export const NFLOG_SNAPLEN = 48;
/**
 * Packets the kernel gathers into one netlink message before waking the reader (it still sends
 * a partial batch after a second): at thousands of new flows a second, one wake-up per packet
 * costs more than the logging itself.
 */
export const NFLOG_QUEUE_THRESHOLD = 32;

const MAX_PREFIX = 63;
const KEEP = 10;

export type NflogAction = "allow" | "deny" | "pass";

const ACTION_CHAR: Record<NflogAction, string> = { allow: "A", deny: "D", pass: "P" };

export function nflogGroup(dir: Direction): number {
  return dir === "inbound" ? NFLOG_INBOUND_GROUP : NFLOG_OUTBOUND_GROUP;
}

function dirChar(dir: Direction): string {
  return dir === "inbound" ? "I" : "E";
}

function maybeHash(prefix: string): string {
  if (prefix.length < MAX_PREFIX) return prefix;
  const hashLen = MAX_PREFIX - 2 * KEEP - 1;
  const hash = createHash("sha256")
    .update(prefix)
    .digest("base64url")
    .slice(0, hashLen - 1);
  return `${prefix.slice(0, KEEP)}_${hash}_${prefix.slice(-KEEP)}`;
}

/** Calico's short policy identity: `np/<namespace>/<name>`, `gnp/<name>`, or a profile's name. */
export function ownerId(kind: string, namespace: string, name: string): string {
  if (kind === "pro") return name;
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}

export function rulePrefix(
  action: NflogAction,
  profile: boolean,
  dir: Direction,
  index: number,
  id: string,
): string {
  return maybeHash(`${ACTION_CHAR[action]}${profile ? "R" : "P"}${dirChar(dir)}${index}|${id}`);
}

export function endOfTierPrefix(dir: Direction, tier: string): string {
  return maybeHash(`DP${dirChar(dir)}|${tier}`);
}

export function noProfileMatchPrefix(dir: Direction): string {
  return `DR${dirChar(dir)}`;
}

/** What a prefix says about the packet's verdict. */
export interface NflogVerdict {
  action: NflogAction;
  direction: Direction;
  /** `policy`, `profile`, `end-of-tier` (id is the tier) or `no-profile-match` (no id). */
  owner: "policy" | "profile" | "end-of-tier" | "no-profile-match";
  /** Rule index within the policy or profile; -1 for the end-of-tier and no-match drops. */
  index: number;
  id: string;
  /** True when the id was shortened to a hash and cannot be read back in full. */
  hashed: boolean;
}

const CHAR_ACTION: Record<string, NflogAction> = { A: "allow", D: "deny", P: "pass" };

export function parsePrefix(prefix: string): NflogVerdict | undefined {
  const m = /^([ADP])([PR])([IE])(\d*)(?:\|(.*))?$/s.exec(prefix);
  if (!m) return undefined;
  const [, a, o, d, idx, id] = m;
  const action = CHAR_ACTION[a ?? ""];
  if (!action) return undefined;
  const direction: Direction = d === "I" ? "inbound" : "outbound";
  const hashed = prefix.length === MAX_PREFIX;
  if (idx === "" || idx === undefined) {
    if (o === "R" && id === undefined)
      return { action, direction, owner: "no-profile-match", index: -1, id: "", hashed };
    if (o === "P" && id !== undefined)
      return { action, direction, owner: "end-of-tier", index: -1, id, hashed };
    return undefined;
  }
  if (id === undefined) return undefined;
  return { action, direction, owner: o === "R" ? "profile" : "policy", index: Number(idx), id, hashed };
}
