/**
 * `calicoctl ipam check`: cross-references IPAM allocations with what uses addresses (Node
 * tunnel addresses and WorkloadEndpoints; there is no Kubernetes here, so no Services) and
 * reports leaks, unallocated in-use addresses, orphaned and missing handles and invalid blocks.
 * Pure: the command gathers the inputs and prints the text.
 */
import type { Resource } from "../../api/meta.js";
import {
  type AllocationBlock,
  attributeAt,
  isInCooldown,
  ordinalToIP,
  sanitiseHandle,
  sequenceNumberOf,
  validateBlock,
  WINDOWS_RESERVED_HANDLE,
} from "../../ipam/block.js";
import type { IPPoolInfo } from "../../ipam/pools.js";
import { cidrContainsIP, formatCIDR, formatIP, parseCIDR, parseIP } from "../../lib/net.js";
import type { CheckAllocation, CheckReport, HandleInfo } from "./report.js";

export interface CheckInput {
  version: string;
  /** `ClusterInformation/default`, when it exists. */
  clusterInfo?: Resource;
  blocks: readonly AllocationBlock[];
  pools: readonly IPPoolInfo[];
  nodes: readonly Resource[];
  workloadEndpoints: readonly Resource[];
  handles: readonly { id: string; rev: string }[];
  /** Block and handle values that could not be decoded (written by something other than Calico). */
  corrupt?: readonly { key: string; reason: string }[];
  now: Date;
  showAllIPs?: boolean;
  showProblemIPs?: boolean;
}

export interface CheckResult {
  text: string;
  report: CheckReport;
  problems: number;
}

/** The address of a CIDR or bare IP, as text; undefined when unparseable. */
function normaliseIP(text: unknown): string | undefined {
  if (typeof text !== "string") return undefined;
  const c = parseCIDR(text, { allowBareIP: true });
  return c && formatIP({ family: c.family, value: c.address });
}

function nodeIPs(node: Resource): string[] {
  const spec = (node.spec ?? {}) as Record<string, unknown>;
  const wg = (spec.wireguard ?? {}) as Record<string, unknown>;
  const bgp = (spec.bgp ?? {}) as Record<string, unknown>;
  const candidates = [
    spec.ipv4VXLANTunnelAddr,
    spec.ipv6VXLANTunnelAddr,
    wg.interfaceIPv4Address,
    wg.interfaceIPv6Address,
    bgp.ipv4IPIPTunnelAddr,
  ];
  return candidates
    .filter((c) => c !== undefined && c !== "")
    .map((c) => {
      const ip = normaliseIP(c);
      if (!ip) throw new Error(`failed to parse tunnel address (${String(c)}) of node ${node.metadata.name}`);
      return ip;
    });
}

function workloadIPs(wep: Resource): string[] {
  const nets = ((wep.spec ?? {}) as { ipNetworks?: unknown }).ipNetworks;
  if (!Array.isArray(nets)) return [];
  return nets.map((n) => {
    const ip = normaliseIP(n);
    if (!ip) {
      throw new Error(
        `failed to parse IP (${String(n)}) of workload ${wep.metadata.namespace}/${wep.metadata.name}`,
      );
    }
    return ip;
  });
}

function attrString(handle: string | undefined, attrs: Record<string, string> | undefined): string {
  const extra = Object.keys(attrs ?? {})
    .sort()
    .map((k) => `${k}=${attrs?.[k]}`)
    .join(",");
  return `Main:${handle ?? "<none>"} Extra:${extra}`;
}

export function runCheck(input: CheckInput): CheckResult {
  const showProblems = Boolean(input.showProblemIPs || input.showAllIPs);
  const lines: string[] = [];
  const say = (s = "") => lines.push(s);
  const allocations = new Map<string, CheckAllocation[]>();
  const byNode = new Map<string, number>();
  const inUse = new Map<string, string[]>();
  const inUseHandles = new Set<string>();
  const attrText = new Map<CheckAllocation, string>();

  const recordInUse = (ip: string, owner: string) => {
    if (input.showAllIPs) say(`  ${ip} belongs to ${owner}`);
    const owners = inUse.get(ip) ?? [];
    owners.push(owner);
    inUse.set(ip, owners);
    for (const a of allocations.get(ip) ?? []) {
      a.inUse = true;
      a.owners = [...(a.owners ?? []), owner];
    }
  };

  say("Checking IPAM for inconsistencies...");
  say();
  say("Loading all IPAM blocks...");
  say(`Found ${input.blocks.length} IPAM blocks.`);
  let numAllocs = 0;
  let cooling = 0;
  const invalid: string[] = [];
  for (const b of input.blocks) {
    say(` IPAM block ${formatCIDR(b.cidr)} affinity=${b.affinity ?? "<none>"}:`);
    for (const p of validateBlock(b, input.now)) invalid.push(`${formatCIDR(b.cidr)}: ${p}`);
    const owner = b.affinity?.startsWith("host:") ? b.affinity.slice(5) : "";
    for (let ord = 0; ord < b.allocations.length; ord++) {
      if (b.allocations[ord] === null) continue;
      if (isInCooldown(b, ord)) {
        // Released and waiting out its cooldown: neither leaked nor in use.
        cooling++;
        continue;
      }
      numAllocs++;
      const ip = formatIP(ordinalToIP(b, ord));
      const rec = attributeAt(b, ord);
      const attrs = rec?.secondary ?? {};
      const handle = sanitiseHandle(rec?.handle_id);
      const alloc: CheckAllocation = {
        ip,
        sequenceNumber: sequenceNumberOf(b, ord),
        inUse: false,
        owners: null,
      };
      if (handle === WINDOWS_RESERVED_HANDLE) {
        recordInUse(ip, "Reserved for Windows");
        alloc.inUse = true;
        alloc.owners = ["Reserved for Windows"];
      } else if (handle !== undefined) {
        alloc.handle = handle;
        inUseHandles.add(handle);
      }
      if (attrs.pod) alloc.pod = attrs.pod;
      if (attrs.namespace) alloc.namespace = attrs.namespace;
      const node = attrs.node || owner;
      if (node) alloc.node = node;
      if (attrs.type) alloc.type = attrs.type;
      if (attrs.timestamp) alloc.creationTimestamp = attrs.timestamp;
      if (node !== owner) alloc.borrowed = true;
      const list = allocations.get(ip) ?? [];
      list.push(alloc);
      allocations.set(ip, list);
      byNode.set(node, (byNode.get(node) ?? 0) + 1);
      attrText.set(alloc, attrString(rec?.handle_id, rec?.secondary));
      if (input.showAllIPs) say(`  ${ip} allocated; attrs ${attrText.get(alloc)}`);
    }
  }
  say(`IPAM blocks record ${numAllocs} allocations.`);
  if (cooling > 0) say(`${cooling} released addresses are still in cooldown.`);
  say();

  say("Loading all IPAM pools...");
  const active = input.pools.filter((p) => !p.disabled);
  for (const p of active) say(`  ${p.cidrText}`);
  say(`Found ${active.length} active IP pools.`);
  say();

  say("Loading all nodes.");
  let nodeIPCount = 0;
  for (const n of input.nodes) {
    for (const ip of nodeIPs(n)) {
      recordInUse(ip, `Node(${n.metadata.name})`);
      nodeIPCount++;
    }
  }
  say(`Found ${nodeIPCount} node tunnel IPs.`);
  say();

  say("Loading all workload endpoints.");
  let wepIPCount = 0;
  for (const w of input.workloadEndpoints) {
    for (const ip of workloadIPs(w)) {
      recordInUse(ip, `Workload(${w.metadata.namespace}/${w.metadata.name})`);
      wepIPCount++;
    }
  }
  say(`Found ${wepIPCount} workload IPs.`);
  say(`Workloads and nodes are using ${inUse.size} IPs.`);
  say();

  say("Loading all handles");
  const topN = 20;
  say(`Looking for top (up to ${topN}) nodes by allocations...`);
  const nodes = [...byNode.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [n, count] of nodes.slice(0, topN)) say(`  ${n} has ${count} allocations`);
  if (nodes.length > 0) {
    say(
      `Node with most allocations has ${nodes[0]?.[1]}; median is ${nodes[Math.floor(nodes.length / 2)]?.[1]}`,
    );
  }
  say();

  let problems = 0;
  say("Scanning for IPs that are allocated but not actually in use...");
  const leakedIPs = [...allocations.keys()].filter((ip) => !inUse.has(ip)).sort();
  if (showProblems) {
    for (const ip of leakedIPs) {
      for (const a of allocations.get(ip) ?? [])
        say(`  ${ip} leaked; attrs ${attrText.get(a) ?? "<missing>"}`);
    }
  }
  problems += leakedIPs.length;
  say(`Found ${leakedIPs.length} IPs that are allocated in IPAM but not actually in use.`);

  say("Scanning for IPs that are in use by a workload or node but not allocated in IPAM...");
  let notInPool = 0;
  let unallocated = 0;
  for (const [ip, owners] of [...inUse.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (showProblems && owners.length > 1) say(`  ${ip} has multiple owners.`);
    if (allocations.has(ip)) continue;
    const addr = parseIP(ip);
    const inPool = addr !== undefined && active.some((p) => cidrContainsIP(p.cidr, addr));
    if (!inPool) {
      if (showProblems) for (const o of owners) say(`  ${ip} in use by ${o} is not in any active IP pool.`);
      notInPool++;
      continue;
    }
    if (showProblems) {
      for (const o of owners)
        say(`  ${ip} in use by ${o} and in active IPAM pool but has no IPAM allocation.`);
    }
    unallocated++;
  }
  problems += notInPool + unallocated;
  say(`Found ${notInPool} in-use IPs that are not in active IP pools.`);
  say(
    `Found ${unallocated} in-use IPs that are in active IP pools but have no corresponding IPAM allocation.`,
  );
  say();

  say("Scanning for IPAM handles with no matching IPs...");
  const leakedHandles: HandleInfo[] = [];
  let goodHandles = 0;
  for (const h of input.handles) {
    if (inUseHandles.has(h.id)) {
      goodHandles++;
      continue;
    }
    if (input.showAllIPs) say(`  ${h.id} doesn't have any active IPs.`);
    leakedHandles.push({ ID: h.id, UID: null, Revision: h.rev });
  }
  problems += leakedHandles.length;
  say(
    `Found ${leakedHandles.length} handles with no matching IPs (and ${goodHandles} handles with matches).`,
  );

  say("Scanning for IPs with missing handle...");
  const known = new Set(input.handles.map((h) => h.id));
  const missing = [...inUseHandles].filter((h) => !known.has(h)).sort();
  if (showProblems) for (const h of missing) say(`  ${h} is in use in a block but doesn't exist.`);
  problems += missing.length;
  say(`Found ${missing.length} handles mentioned in blocks with no matching handle resource.`);

  say("Scanning for invalid blocks...");
  if (showProblems) for (const p of invalid) say(`  ${p}`);
  problems += invalid.length;
  say(`Found ${invalid.length} problems in IPAM blocks.`);

  // Always named: there is nothing else to go on, and nothing else reads these values.
  const corrupt = input.corrupt ?? [];
  say("Scanning for IPAM values that cannot be read...");
  for (const c of corrupt) say(`  ${c.key}: ${c.reason}`);
  problems += corrupt.length;
  say(`Found ${corrupt.length} unreadable IPAM values.`);

  say(`Check complete; found ${problems} problems.`);

  const spec = (input.clusterInfo?.spec ?? {}) as Record<string, unknown>;
  const sortedAllocations: Record<string, CheckAllocation[]> = {};
  for (const ip of [...allocations.keys()].sort()) sortedAllocations[ip] = allocations.get(ip) ?? [];
  const report: CheckReport = {
    version: input.version,
    clusterGUID: typeof spec.clusterGUID === "string" ? spec.clusterGUID : "",
    datastoreLocked: spec.datastoreReady === false,
    clusterInformationRevision: input.clusterInfo?.metadata.resourceVersion ?? "",
    clusterType: typeof spec.clusterType === "string" ? spec.clusterType : "",
    allocations: sortedAllocations,
    leakedHandles: leakedHandles.length > 0 ? leakedHandles : undefined,
  };
  return { text: `${lines.join("\n")}\n`, report, problems };
}
