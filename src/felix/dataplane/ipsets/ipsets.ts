/**
 * IP sets for the iptables mode: one kernel set per calc-graph set and family,
 * named `cali40<id>` / `cali60<id>` (31 characters at most). The driver reads `ipset save`,
 * creates missing sets and adds/removes only the members that differ, in one `ipset restore`;
 * sets it owns that are no longer wanted are destroyed after the rules stop referring to them.
 */
import ipaddr from "ipaddr.js";
import type { IPSetType } from "../../calc/messages.js";
import type { CommandRunner } from "../exec.js";
import type { Family } from "../nft/model.js";
import { ALL_VXLAN_NET } from "../rules/names.js";
import type { DesiredIPSet, DesiredPolicyState } from "../state.js";

const KERNEL_TYPE: Record<IPSetType, string> = { ip: "hash:ip", net: "hash:net", "ip,port": "hash:ip,port" };

export function ipsetName(family: Family, id: string): string {
  return `cali${family}0${id}`.slice(0, 31);
}

/** Whether a kernel set name is one Felix owns for this family. */
export function ownedSetName(family: Family, name: string): boolean {
  return name.startsWith(`cali${family}0`) || name.startsWith(`cali${family}t`);
}

export interface KernelIPSet {
  type: string;
  members: Set<string>;
}

function canonicalAddr(addr: string): string {
  const a = ipaddr.parse(addr);
  return a.kind() === "ipv6" ? (a as ipaddr.IPv6).toRFC5952String() : a.toString();
}

function familyOf(addr: string): Family {
  return addr.includes(":") ? 6 : 4;
}

/** A calc-graph member in the form `ipset save` prints, or undefined when of the other family. */
function kernelMember(type: IPSetType, family: Family, member: string): string | undefined {
  if (type === "ip,port") {
    const comma = member.lastIndexOf(",");
    const addr = member.slice(0, comma);
    if (familyOf(addr) !== family) return undefined;
    return `${canonicalAddr(addr)},${member.slice(comma + 1).toLowerCase()}`;
  }
  const [addr, len] = member.split("/");
  if (addr === undefined || familyOf(addr) !== family) return undefined;
  const full = family === 4 ? 32 : 128;
  if (type === "ip" || len === undefined || Number(len) === full) return canonicalAddr(addr);
  return `${canonicalAddr(addr)}/${len}`;
}

/**
 * Kernel members per calc-graph set object and family. The state replaces a set's object when its
 * members change, so an unchanged set keeps the same members object: it is neither converted nor
 * compared again.
 */
const converted = new WeakMap<object, Partial<Record<Family, Set<string>>>>();

function kernelMembers(set: DesiredIPSet, family: Family): Set<string> {
  let entry = converted.get(set);
  if (!entry) {
    entry = {};
    converted.set(set, entry);
  }
  let members = entry[family];
  if (!members) {
    members = new Set<string>();
    for (const m of set.members) {
      const k = kernelMember(set.setType, family, m);
      if (k !== undefined) members.add(k);
    }
    entry[family] = members;
  }
  return members;
}

export function desiredIPSets(state: DesiredPolicyState, family: Family): Map<string, KernelIPSet> {
  const out = new Map<string, KernelIPSet>();
  for (const [id, set] of state.ipSets)
    out.set(ipsetName(family, id), { type: KERNEL_TYPE[set.setType], members: kernelMembers(set, family) });
  if (state.policesVxlan(family)) {
    const members = new Set<string>();
    for (const ip of state.vxlanHosts.values()) {
      const k = kernelMember("net", family, ip);
      if (k !== undefined) members.add(k);
    }
    out.set(ipsetName(family, ALL_VXLAN_NET), { type: "hash:net", members });
  }
  // NAT outgoing's pool sets (Calico's cali40masq-ipam-pools / cali40all-ipam-pools).
  const pools = [...state.pools.values()].filter((p) => familyOf(p.cidr.split("/")[0] ?? "") === family);
  if (!pools.some((p) => p.masquerade)) return out;
  for (const which of ["masq", "all"] as const) {
    const members = new Set<string>();
    for (const p of pools) {
      if (which === "masq" && !p.masquerade) continue;
      const k = kernelMember("net", family, p.cidr);
      if (k !== undefined) members.add(k);
    }
    out.set(ipsetName(family, `${which}-ipam-pools`), { type: "hash:net", members });
  }
  return out;
}

/** `ipset save` output → sets owned for this family. */
export function parseIpsetSave(text: string, family: Family): Map<string, KernelIPSet> {
  const out = new Map<string, KernelIPSet>();
  for (const line of text.split("\n")) {
    const [verb, name, arg] = line.trim().split(/\s+/);
    if (!name || !ownedSetName(family, name)) continue;
    if (verb === "create") out.set(name, { type: arg ?? "", members: new Set() });
    else if (verb === "add" && arg !== undefined) out.get(name)?.members.add(arg);
  }
  return out;
}

export interface IpsetPlan {
  /** Creates and member changes; must run before the rules that use new sets. */
  update: string;
  /** Destroys of unwanted sets; must run after the rules stop using them. */
  cleanup: string;
}

export function planIpsets(
  desired: Map<string, KernelIPSet>,
  observed: Map<string, KernelIPSet>,
  family: Family,
): IpsetPlan {
  const inet = family === 4 ? "inet" : "inet6";
  const update: string[] = [];
  const cleanup: string[] = [];
  for (const [name, want] of [...desired].sort(([a], [b]) => (a < b ? -1 : 1))) {
    let have = observed.get(name);
    if (have && have.type !== want.type) {
      // A set id encodes its type, so this only happens with foreign or corrupted state.
      update.push(`destroy ${name}`);
      have = undefined;
    }
    // The very members object last written: nothing to compare.
    if (have?.members === want.members) continue;
    if (!have) update.push(`create ${name} ${want.type} family ${inet} maxelem 1048576`);
    const current = have?.members ?? new Set<string>();
    for (const m of current) if (!want.members.has(m)) update.push(`del ${name} ${m}`);
    for (const m of [...want.members].sort()) if (!current.has(m)) update.push(`add ${name} ${m}`);
  }
  for (const name of observed.keys()) if (!desired.has(name)) cleanup.push(`destroy ${name}`);
  return {
    update: update.length ? `${update.join("\n")}\n` : "",
    cleanup: cleanup.length ? `${cleanup.join("\n")}\n` : "",
  };
}

export class IpsetsDriver {
  private readonly written = new Map<Family, Map<string, KernelIPSet>>();

  constructor(private readonly run: CommandRunner) {}

  /** Makes the next `read` ask the kernel instead of trusting what was last written. */
  invalidate(): void {
    this.written.clear();
  }

  /** Records what the kernel holds after a successful update + cleanup. */
  remember(family: Family, sets: Map<string, KernelIPSet>): void {
    // Kept by reference: desired members objects are never mutated once rendered, and keeping
    // the same object lets the next plan skip unchanged sets without comparing members.
    this.written.set(family, new Map(sets));
  }

  async read(family: Family): Promise<Map<string, KernelIPSet>> {
    const known = this.written.get(family);
    this.written.delete(family);
    if (known) return known;
    const out = await this.run(["ipset", "save"]);
    if (out.code !== 0) throw new Error(`ipset save failed (${out.code}): ${out.stderr.trim()}`);
    return parseIpsetSave(out.stdout, family);
  }

  async restore(script: string): Promise<void> {
    if (script === "") return;
    const out = await this.run(["ipset", "restore"], script);
    if (out.code !== 0) throw new Error(`ipset restore failed (${out.code}): ${out.stderr.trim()}`);
  }

  /** Destroys every set this family owns (used when leaving iptables mode). */
  async removeAll(family: Family): Promise<void> {
    this.written.delete(family);
    const sets = await this.read(family);
    await this.restore([...sets.keys()].map((n) => `destroy ${n}\n`).join(""));
  }
}
