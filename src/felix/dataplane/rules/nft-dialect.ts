import type { Dialect } from "./host-endpoints.js";
import { markClear, markMatch, markSet } from "./marks.js";
import { policyChain, profileChain, tableChain } from "./names.js";

/** nftables spelling of the host endpoint chains: logical tables become chain-name prefixes. */
export const nftDialect: Dialect = {
  name: (table, prefix, suffix) => tableChain(table, prefix, suffix),
  policy: (table, dir, key) => policyChain(dir, key, `${table}-`),
  profile: (table, dir, name) => profileChain(dir, name, `${table}-`),
  markIs: markMatch,
  setMark: markSet,
  clearMark: markClear,
  jump: (c) => `jump ${c}`,
  goto: (c) => `goto ${c}`,
  ret: "return",
  accept: "accept",
  drop: "drop",
  notrack: "notrack",
  ctEstablished: "ct state established,related",
  ctInvalid: "ct state invalid",
  ctDnat: "ct status dnat",
  iif: (name) => `iifname "${name}"`,
  oif: (name) => `oifname "${name}"`,
  port: (proto, side, port) => `meta l4proto ${proto} th ${side} ${port}`,
  net: (family, side, cidr) => `${family === 4 ? "ip" : "ip6"} ${side === "src" ? "saddr" : "daddr"} ${cidr}`,
};
