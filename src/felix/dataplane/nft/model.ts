/**
 * A desired (or observed) nftables table as plain data. Rules are kept as rendered text plus the
 * identity hash carried in their comment, so the driver can compare chains without parsing nft's
 * rule syntax back.
 */

export type Family = 4 | 6;

export type NftFamilyName = "ip" | "ip6";

export function nftFamily(family: Family): NftFamilyName {
  return family === 4 ? "ip" : "ip6";
}

export type SetKind = "addr" | "net" | "addr-port";

export interface NftSet {
  name: string;
  kind: SetKind;
  /** Elements in nft syntax (`10.0.0.0/24`, `10.0.0.5 . 6 . 8080`), deduplicated, sorted. */
  elements: string[];
}

/** An `ifname : verdict` map; values are `goto <chain>`. */
export interface NftVerdictMap {
  name: string;
  elements: Map<string, string>;
}

export interface BaseChainHook {
  type: "filter" | "nat";
  hook: "prerouting" | "input" | "forward" | "output" | "postrouting";
  priority: number;
}

export interface NftRule {
  /** Body without the identity comment. */
  body: string;
  /** Human note appended after the identity in the rule comment. */
  note?: string;
  hash: string;
}

export interface NftChain {
  name: string;
  base?: BaseChainHook;
  rules: NftRule[];
}

export interface NftTable {
  family: Family;
  name: string;
  sets: Map<string, NftSet>;
  maps: Map<string, NftVerdictMap>;
  chains: Map<string, NftChain>;
}
