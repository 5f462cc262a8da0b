import type { NftChain, NftSet, NftTable, NftVerdictMap } from "./model.js";
import { nftFamily } from "./model.js";
import { ruleComment } from "./rule-hash.js";

/** `nft -f` fragments shared by the full render and the driver's incremental scripts. */

export function setDeclaration(family: 4 | 6, set: NftSet): string {
  const addr = family === 4 ? "ipv4_addr" : "ipv6_addr";
  switch (set.kind) {
    case "addr":
      return `type ${addr};`;
    case "net":
      return `type ${addr}; flags interval;`;
    case "addr-port":
      return `type ${addr} . inet_proto . inet_service;`;
  }
}

export function addSet(table: NftTable, set: NftSet): string[] {
  const fam = nftFamily(table.family);
  const lines = [`add set ${fam} ${table.name} ${set.name} { ${setDeclaration(table.family, set)} }`];
  if (set.elements.length > 0) lines.push(addElements(table, set.name, set.elements));
  return lines;
}

export function addElements(table: NftTable, name: string, elements: readonly string[]): string {
  return `add element ${nftFamily(table.family)} ${table.name} ${name} { ${elements.join(", ")} }`;
}

export function deleteElements(table: NftTable, name: string, elements: readonly string[]): string {
  return `delete element ${nftFamily(table.family)} ${table.name} ${name} { ${elements.join(", ")} }`;
}

export function mapElementText(elements: ReadonlyMap<string, string>): string[] {
  return [...elements].map(([k, v]) => `"${k}" : ${v}`);
}

export function addMap(table: NftTable, map: NftVerdictMap): string[] {
  const fam = nftFamily(table.family);
  const lines = [`add map ${fam} ${table.name} ${map.name} { type ifname : verdict; }`];
  if (map.elements.size > 0) lines.push(addElements(table, map.name, mapElementText(map.elements)));
  return lines;
}

export function addChain(table: NftTable, chain: NftChain): string {
  const fam = nftFamily(table.family);
  if (!chain.base) return `add chain ${fam} ${table.name} ${chain.name}`;
  const { type, hook, priority } = chain.base;
  return `add chain ${fam} ${table.name} ${chain.name} { type ${type} hook ${hook} priority ${priority}; policy accept; }`;
}

export function addRules(table: NftTable, chain: NftChain): string[] {
  const fam = nftFamily(table.family);
  return chain.rules.map(
    (r) => `add rule ${fam} ${table.name} ${chain.name} ${r.body} comment "${ruleComment(r)}"`,
  );
}

/**
 * The whole table as one transaction that first empties (or creates) it, so applying it replaces
 * whatever an earlier run left. Chains are declared before any rule so jumps may point forward.
 */
export function renderTable(table: NftTable): string {
  const fam = nftFamily(table.family);
  const lines = [
    `add table ${fam} ${table.name}`,
    `delete table ${fam} ${table.name}`,
    `add table ${fam} ${table.name}`,
  ];
  lines.push(...declarations(table));
  for (const chain of table.chains.values()) lines.push(...addRules(table, chain));
  return `${lines.join("\n")}\n`;
}

export function declarations(table: NftTable): string[] {
  const lines: string[] = [];
  for (const set of table.sets.values()) lines.push(...addSet(table, set));
  for (const chain of table.chains.values()) lines.push(addChain(table, chain));
  for (const map of table.maps.values()) lines.push(...addMap(table, map));
  return lines;
}
