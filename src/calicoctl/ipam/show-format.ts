/** Text produced by `calicoctl ipam show` in its four modes; pure so it can be tested exactly. */
import { type AllocationBlock, attributeAt, isInCooldown, ordinalToIP } from "../../ipam/block.js";
import type { IPAMConfig } from "../../ipam/config.js";
import type { AssignmentAttributes } from "../../ipam/query.js";
import type { PoolUtilization } from "../../ipam/utilization.js";
import { ORPHANED_BLOCKS } from "../../ipam/utilization.js";
import { formatCIDR, formatIP } from "../../lib/net.js";
import { goG, goRound0 } from "./gofmt.js";
import { renderTable } from "./table.js";

function usageRow(
  kind: string,
  cidr: string,
  capacity: number,
  inUse: number,
  reserved: number,
  free: number,
): string[] {
  const pct = (n: number) => `${goG(n)} (${goRound0((100 * n) / capacity)}%)`;
  return [kind, cidr, goG(capacity), pct(inUse), pct(reserved), pct(free)];
}

/** The utilisation table; the orphan pseudo-pool has no pool row, only block rows. */
export function formatUtilization(usage: readonly PoolUtilization[], showBlocks: boolean): string {
  const rows: string[][] = [];
  for (const pool of usage) {
    if (pool.name !== ORPHANED_BLOCKS) {
      rows.push(
        usageRow(
          "IP Pool",
          pool.cidr,
          Number(pool.capacity),
          Number(pool.inUse),
          Number(pool.reserved),
          Number(pool.available),
        ),
      );
    }
    if (!showBlocks) continue;
    for (const b of pool.blocks)
      rows.push(usageRow("Block", b.cidr, b.capacity, b.inUse, b.reserved, b.available));
  }
  return renderTable(["GROUPING", "CIDR", "IPS TOTAL", "IPS IN USE", "IPS RESERVED", "IPS FREE"], rows, {
    rightAligned: [2],
  });
}

function ownerAttrs(title: string, attrs: Record<string, string> | undefined): string {
  const keys = Object.keys(attrs ?? {}).sort();
  if (keys.length === 0) return "";
  return `${title}:\n${keys.map((k) => `  ${k}: ${attrs?.[k]}\n`).join("")}`;
}

/** `--ip X`: who holds the address, or that nobody does. */
export function formatIPStatus(ip: string, attrs: AssignmentAttributes | undefined): string {
  if (!attrs) return `${ip} is not assigned\n`;
  let out = `IP ${ip} is in use\n`;
  out += `Handle ID: ${attrs.handleId ?? "<none>"}\n`;
  out += ownerAttrs("Active Owner Attributes", attrs.attrs) || "No Active Owner attributes defined\n";
  out += ownerAttrs("Alternate Owner Attributes", attrs.alternateOwnerAttrs);
  return out;
}

export interface BorrowedIP {
  ip: string;
  borrowingNode: string;
  block: string;
  blockOwner: string;
  type: string;
  allocatedTo: string;
}

/**
 * Allocations whose `node` attribute differs from the block's owner (including every
 * allocation in an unowned block), plus the count of allocations with no `node` attribute.
 */
export function findBorrowedIPs(blocks: readonly AllocationBlock[]): {
  borrowed: BorrowedIP[];
  unclassified: number;
} {
  const borrowed: BorrowedIP[] = [];
  let unclassified = 0;
  for (const b of blocks) {
    const owner = b.affinity === null ? "" : b.affinity.slice(b.affinity.indexOf(":") + 1);
    for (let ord = 0; ord < b.allocations.length; ord++) {
      const rec = attributeAt(b, ord);
      if (!rec || isInCooldown(b, ord)) continue;
      const attrs = rec.secondary ?? {};
      const node = attrs.node;
      if (node === undefined) {
        unclassified++;
        continue;
      }
      if (node === owner) continue;
      const ns = attrs.namespace ?? "";
      let type = "";
      let allocatedTo = "";
      if (attrs["vmi-name"] !== undefined) {
        type = "vmi";
        allocatedTo = `${ns}/${attrs["vmi-name"]}`;
      } else if (attrs.pod !== undefined) {
        type = "pod";
        allocatedTo = `${ns}/${attrs.pod}`;
      } else if (attrs.type !== undefined) {
        type = attrs.type;
      }
      borrowed.push({
        ip: formatIP(ordinalToIP(b, ord)),
        borrowingNode: node,
        block: formatCIDR(b.cidr),
        blockOwner: owner,
        type,
        allocatedTo,
      });
    }
  }
  return { borrowed, unclassified };
}

export function formatBorrowed(result: { borrowed: readonly BorrowedIP[]; unclassified: number }): string {
  let out = renderTable(
    ["IP", "BORROWING-NODE", "BLOCK", "BLOCK OWNER", "TYPE", "ALLOCATED-TO"],
    result.borrowed.map((b) => [b.ip, b.borrowingNode, b.block, b.blockOwner, b.type, b.allocatedTo]),
  );
  if (result.unclassified > 0) {
    out += `\nNote: found ${result.unclassified} IP allocations without an explicit node association. Unable to determine if they are borrowed.\n`;
  }
  return out;
}

/** `--show-configuration`: the configuration fields the way Go's `%#v` prints them. */
export function formatIPAMConfig(cfg: IPAMConfig): string {
  return renderTable(
    ["PROPERTY", "VALUE"],
    [
      ["StrictAffinity", String(cfg.strictAffinity)],
      ["AutoAllocateBlocks", String(cfg.autoAllocateBlocks)],
      ["MaxBlocksPerHost", String(cfg.maxBlocksPerHost)],
      ["KubeVirtVMAddressPersistence", JSON.stringify(cfg.kubeVirtVMAddressPersistence)],
      ["IPCooldownSeconds", String(cfg.ipCooldownSeconds)],
    ],
  );
}
