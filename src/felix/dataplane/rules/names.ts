import { createHash } from "node:crypto";
import type { Family } from "../nft/model.js";

/**
 * Calico's object names, with nftables' logical-table prefix (`filter-`). nft identifiers accept
 * only `[A-Za-z0-9/._-]` unquoted, so a name with anything else is replaced by a hashed form, the
 * same trick Calico uses for over-long iptables names.
 */

const SAFE = /^[A-Za-z0-9/._-]+$/;

function safeSuffix(prefix: string, suffix: string): string {
  if (SAFE.test(suffix)) return prefix + suffix;
  return `${prefix}_${createHash("sha256").update(suffix).digest("base64url").slice(0, 24)}`;
}

export const FILTER = "filter-";

export const chainNames = {
  input: `${FILTER}INPUT`,
  forward: `${FILTER}FORWARD`,
  output: `${FILTER}OUTPUT`,
  caliInput: `${FILTER}cali-INPUT`,
  caliForward: `${FILTER}cali-FORWARD`,
  caliOutput: `${FILTER}cali-OUTPUT`,
  wlToHost: `${FILTER}cali-wl-to-host`,
  fromWlDispatch: `${FILTER}cali-from-wl-dispatch`,
  toWlDispatch: `${FILTER}cali-to-wl-dispatch`,
} as const;

export const NAT = "nat-";

/** NAT outgoing: hooked at postrouting, keyed by Calico's pool IP-set names. */
export const natNames = {
  postrouting: `${NAT}POSTROUTING`,
  natOutgoing: `${NAT}cali-nat-outgoing`,
  masqPools: (family: Family) => `cali${family}0masq-ipam-pools`,
  allPools: (family: Family) => `cali${family}0all-ipam-pools`,
} as const;

/** VXLAN is accepted only from the hosts in this set (Calico's `all-vxlan-net`). */
export const ALL_VXLAN_NET = "all-vxlan-net";
export const allVxlanNetSet = (family: Family) => `cali${family}0${ALL_VXLAN_NET}`;

export type Direction = "inbound" | "outbound";

/** `table` is the logical-table prefix: host endpoints also need policy chains in raw and mangle. */
export function policyChain(dir: Direction, policyKey: string, table = FILTER): string {
  return safeSuffix(`${table}cali-${dir === "inbound" ? "pi" : "po"}-`, policyKey);
}

export function profileChain(dir: Direction, profile: string, table = FILTER): string {
  return safeSuffix(`${table}cali-${dir === "inbound" ? "pri" : "pro"}-`, profile);
}

/** Any chain of a logical table (`raw-`, `mangle-`, `filter-`), e.g. `mangle-cali-fh-eth0`. */
export function tableChain(table: string, prefix: string, suffix = ""): string {
  return suffix === "" ? `${table}-${prefix}` : safeSuffix(`${table}-${prefix}`, suffix);
}

/** `cali-tw-` polices traffic to the workload (its ingress), `cali-fw-` traffic from it. */
export function endpointChain(dir: Direction, iface: string): string {
  return safeSuffix(`${FILTER}cali-${dir === "inbound" ? "tw" : "fw"}-`, iface);
}

/** `cali40` + set id (truncated to ipset's 31 characters); `:` is not legal in nft names. */
export function ipSetName(family: Family, id: string): string {
  const name = `cali${family}0${id.replace(/:/g, "-")}`.slice(0, 31);
  return SAFE.test(name) ? name : safeSuffix(`cali${family}0`, id).slice(0, 31);
}
