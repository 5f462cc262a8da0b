import { canonicalAddrPort, canonicalNet } from "./elements.js";
import type { NftChain } from "./model.js";
import { hashFromComment } from "./rule-hash.js";

/** What `nft -j list table` shows of our table, reduced to what the diff compares. */
export interface ObservedTable {
  /** `source`: the desired elements last written, when known; the same array means unchanged. */
  sets: Map<string, { signature: string; elements: Set<string>; source?: readonly string[] }>;
  /** `source`: the desired elements last written, when known; the same map means unchanged. */
  maps: Map<
    string,
    { signature: string; elements: Map<string, string>; source?: ReadonlyMap<string, string> }
  >;
  /**
   * Rule identities in order; `undefined` for a rule without our comment. `source`: the desired
   * chain last written, when known; the same object means unchanged.
   */
  chains: Map<string, { base?: string; hashes: (string | undefined)[]; source?: NftChain }>;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function setSignature(type: unknown, flags: unknown): string {
  const t = Array.isArray(type) ? type.join(" . ") : String(type);
  const f = Array.isArray(flags) && flags.includes("interval") ? " interval" : "";
  return t + f;
}

export function baseSignature(type: unknown, hook: unknown, prio: unknown): string {
  return `${String(type)} ${String(hook)} ${String(prio)}`;
}

function element(v: unknown): string {
  if (isObj(v) && "elem" in v && isObj(v.elem)) return element(v.elem.val);
  if (typeof v === "string") return canonicalNet(v);
  if (isObj(v) && isObj(v.prefix)) return canonicalNet(`${String(v.prefix.addr)}/${String(v.prefix.len)}`);
  if (isObj(v) && Array.isArray(v.range)) return v.range.map(String).join("-");
  if (isObj(v) && Array.isArray(v.concat)) {
    const [addr, proto, port] = v.concat as [string, string | number, number];
    return canonicalAddrPort(addr, proto, port);
  }
  return JSON.stringify(v);
}

function verdict(v: unknown): string {
  if (isObj(v)) {
    for (const kind of ["goto", "jump"]) {
      const t = v[kind];
      if (isObj(t)) return `${kind} ${String(t.target)}`;
    }
    const [k] = Object.keys(v);
    if (k !== undefined) return k;
  }
  return String(v);
}

export function parseObserved(json: string): ObservedTable {
  const out: ObservedTable = { sets: new Map(), maps: new Map(), chains: new Map() };
  const items = (JSON.parse(json) as { nftables: Json[] }).nftables;
  for (const item of items) {
    if (isObj(item.set)) {
      const s = item.set;
      out.sets.set(String(s.name), {
        signature: setSignature(s.type, s.flags),
        elements: new Set((Array.isArray(s.elem) ? s.elem : []).map(element)),
      });
    } else if (isObj(item.map)) {
      const m = item.map;
      const elements = new Map<string, string>();
      for (const e of Array.isArray(m.elem) ? m.elem : [])
        if (Array.isArray(e)) elements.set(String(e[0]), verdict(e[1]));
      out.maps.set(String(m.name), { signature: `${String(m.type)} : ${String(m.map)}`, elements });
    } else if (isObj(item.chain)) {
      const c = item.chain;
      const base = c.hook === undefined ? undefined : baseSignature(c.type, c.hook, c.prio);
      out.chains.set(String(c.name), base === undefined ? { hashes: [] } : { base, hashes: [] });
    } else if (isObj(item.rule)) {
      const r = item.rule;
      out.chains
        .get(String(r.chain))
        ?.hashes.push(hashFromComment(typeof r.comment === "string" ? r.comment : undefined));
    }
  }
  return out;
}
