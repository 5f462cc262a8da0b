import type { NftChain, NftSet, NftTable } from "./model.js";
import { nftFamily } from "./model.js";
import { baseSignature, type ObservedTable, setSignature } from "./observe.js";
import {
  addChain,
  addElements,
  addMap,
  addRules,
  addSet,
  deleteElements,
  mapElementText,
  renderTable,
} from "./text.js";

function desiredSetSignature(family: 4 | 6, set: NftSet): string {
  const addr = family === 4 ? "ipv4_addr" : "ipv6_addr";
  if (set.kind === "addr-port") return setSignature([addr, "inet_proto", "inet_service"], []);
  return setSignature(addr, set.kind === "net" ? ["interval"] : []);
}

function desiredBase(chain: NftChain): string | undefined {
  return chain.base && baseSignature(chain.base.type, chain.base.hook, chain.base.priority);
}

function sameHashes(chain: NftChain, observed: (string | undefined)[]): boolean {
  return chain.rules.length === observed.length && chain.rules.every((r, i) => r.hash === observed[i]);
}

/**
 * The `nft -f` script taking the observed table to the desired one in one transaction, or ""
 * when nothing differs. Only what changed is written: whole chains whose rule identities differ
 * (flushed and refilled), set and map elements added or deleted one by one, objects no longer
 * wanted deleted after everything that could refer to them has been flushed.
 */
export function planUpdate(desired: NftTable, observed: ObservedTable | undefined): string {
  if (!observed) return renderTable(desired);
  const fam = nftFamily(desired.family);
  const t = `${fam} ${desired.name}`;
  const declare: string[] = [];
  const elements: string[] = [];
  const flush: string[] = [];
  const rules: string[] = [];
  const remove: string[] = [];

  // An object that exists under the same name with another shape (set type, base-chain hook)
  // cannot be changed in place: that rare case rebuilds the whole table. One written from the
  // very same desired object cannot have changed at all, so most objects cost one lookup.
  for (const [name, set] of desired.sets) {
    const o = observed.sets.get(name);
    if (!o) {
      declare.push(...addSet(desired, set));
      continue;
    }
    if (o.source === set.elements) continue;
    if (o.signature !== desiredSetSignature(desired.family, set)) return renderTable(desired);
    const wanted = new Set(set.elements);
    const extra = [...o.elements].filter((e) => !wanted.has(e));
    const missing = set.elements.filter((e) => !o.elements.has(e));
    if (extra.length > 0) elements.push(deleteElements(desired, name, extra));
    if (missing.length > 0) elements.push(addElements(desired, name, missing));
  }
  let kept = 0;
  for (const [name, chain] of desired.chains) {
    const o = observed.chains.get(name);
    if (!o) {
      declare.push(addChain(desired, chain));
      rules.push(...addRules(desired, chain));
      continue;
    }
    kept++;
    if (o.source !== chain) {
      if (o.base !== desiredBase(chain)) return renderTable(desired);
      if (sameHashes(chain, o.hashes)) continue;
      flush.push(`flush chain ${t} ${name}`);
      rules.push(...addRules(desired, chain));
    }
  }
  for (const name of desired.maps.keys())
    if ((observed.maps.get(name)?.signature ?? "ifname : verdict") !== "ifname : verdict")
      return renderTable(desired);
  for (const [name, map] of desired.maps) {
    const o = observed.maps.get(name);
    if (!o) {
      declare.push(...addMap(desired, map));
      continue;
    }
    if (o.source === map.elements) continue;
    const stale = [...o.elements].filter(([k, v]) => map.elements.get(k) !== v).map(([k]) => `"${k}"`);
    const fresh = new Map([...map.elements].filter(([k, v]) => o.elements.get(k) !== v));
    if (stale.length > 0) elements.push(deleteElements(desired, name, stale));
    if (fresh.size > 0) elements.push(addElements(desired, name, mapElementText(fresh)));
  }
  // Only when some observed chain was not matched by a desired one is there anything to delete.
  if (kept !== observed.chains.size)
    for (const name of observed.chains.keys()) {
      if (desired.chains.has(name)) continue;
      flush.push(`flush chain ${t} ${name}`);
      remove.push(`delete chain ${t} ${name}`);
    }
  for (const name of observed.maps.keys())
    if (!desired.maps.has(name)) remove.unshift(`delete map ${t} ${name}`);
  for (const name of observed.sets.keys())
    if (!desired.sets.has(name)) remove.push(`delete set ${t} ${name}`);

  const lines = [...declare, ...elements, ...flush, ...rules, ...remove];
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/**
 * What the kernel holds right after `desired` was applied, so the next diff can skip reading it.
 * `previous` (what the last apply recorded, no longer used by anyone else) is updated in place:
 * entries whose desired object is the one it recorded are kept, so a one-chain change allocates
 * one entry instead of a new table-sized map per apply (garbage that showed up as GC pauses).
 */
export function observedFromDesired(desired: NftTable, previous?: ObservedTable): ObservedTable {
  const out: ObservedTable = previous ?? { sets: new Map(), maps: new Map(), chains: new Map() };
  for (const [name, set] of desired.sets) {
    if (out.sets.get(name)?.source === set.elements) continue;
    out.sets.set(name, {
      signature: desiredSetSignature(desired.family, set),
      elements: new Set(set.elements),
      source: set.elements,
    });
  }
  // Every desired name is in `out` now, so equal sizes mean nothing else is.
  if (out.sets.size !== desired.sets.size)
    for (const name of out.sets.keys()) if (!desired.sets.has(name)) out.sets.delete(name);
  for (const [name, map] of desired.maps) {
    if (out.maps.get(name)?.source === map.elements) continue;
    out.maps.set(name, {
      signature: "ifname : verdict",
      elements: new Map(map.elements),
      source: map.elements,
    });
  }
  if (out.maps.size !== desired.maps.size)
    for (const name of out.maps.keys()) if (!desired.maps.has(name)) out.maps.delete(name);
  for (const [name, chain] of desired.chains) {
    if (out.chains.get(name)?.source === chain) continue;
    const base = desiredBase(chain);
    const hashes = chain.rules.map((r) => r.hash);
    out.chains.set(name, base === undefined ? { hashes, source: chain } : { base, hashes, source: chain });
  }
  if (out.chains.size !== desired.chains.size)
    for (const name of out.chains.keys()) if (!desired.chains.has(name)) out.chains.delete(name);
  return out;
}
