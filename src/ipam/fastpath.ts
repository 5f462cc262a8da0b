/**
 * The common allocation and release in two datastore round trips. With a hint naming the host's
 * affine block, one batched read fetches everything a decision needs (pools, reservations, the
 * Node, IPAM config, the block, its affinity, the handle) and one transaction writes the block
 * and the handle together, guarded on the modRevision of every key the decision rests on (block,
 * affinity, handle). A lost race or an unexpected state (no hint, block full, affinity not
 * confirmed, anything needing a claim, a reclaim or an affinity release) makes these functions
 * return undefined and the caller takes the general path, which handles every case; so the fast
 * path never decides anything the general path would decide differently, it only decides sooner.
 *
 * The planning functions are pure (snapshot in, writes out); the two async ones do the I/O.
 */
import type { KeyValue, KVCondition, KVRead, KVReadManyResult, KVStore, KVWrite } from "../datastore/kv.js";
import { type CIDR, cidrContains, formatCIDR, formatIP, networkAddress, parseCIDR } from "../lib/net.js";
import { type BlockAffinity, decodeAffinity, isConfirmed } from "./affinity.js";
import type { AutoAssignRequest, AutoAssignResult, IPAMAssignments } from "./assign.js";
import {
  type AllocationBlock,
  allocateFromBlock,
  decodeBlock,
  encodeBlock,
  garbageCollect,
  isEmpty,
  ordinalsForHandle,
  ordinalToCIDRText,
  ordinalToIP,
  releaseOrdinals,
  sanitiseHandle,
} from "./block.js";
import { configFromSpec, DEFAULT_IPAM_CONFIG, decodeIPAMConfig, type IPAMConfig } from "./config.js";
import { decodeHandle, encodeHandle, type IPAMHandle, incrementHandle } from "./handle.js";
import type { BlockHints } from "./hints.js";
import type { InventoryReads, InventorySnapshot } from "./inventory.js";
import { affinityKey, blockKey, CONFIG_KEY, handleKey, hostOwner, ownerString } from "./keys.js";
import {
  determinePools,
  type IPPoolInfo,
  poolContainingCIDR,
  poolsFromResources,
  selectorMatches,
} from "./pools.js";
import { Reservations } from "./reservations.js";
import { type HostView, type HostViews, viewGuards } from "./views.js";
import type { WrittenBlock, WrittenBlocks } from "./written.js";

/** The writes of a fast decision and the guards that make it valid. */
export interface FastPlan<T> {
  conditions: KVCondition[];
  writes: KVWrite[];
  outcome: T;
  /** The blocks the writes store, by key, for WrittenBlocks once the commit succeeds. */
  blocks: { key: string; block: AllocationBlock }[];
}

const modOf = (kv: KeyValue | undefined): string => kv?.modRevision ?? "0";

function ipamConfigOf(snapshot: InventorySnapshot, v2: KeyValue | undefined): IPAMConfig {
  if (snapshot.ipamConfiguration) {
    return configFromSpec(snapshot.ipamConfiguration.spec as Record<string, unknown> | undefined);
  }
  return v2 ? decodeIPAMConfig(v2.value) : { ...DEFAULT_IPAM_CONFIG };
}

/** The block CIDR an AutoAssign address (`a.b.c.d/<block prefix>`) came from. */
export function blockOfAddress(text: string): string | undefined {
  const c = parseCIDR(text);
  return c && formatCIDR({ ...c, address: networkAddress(c) });
}

/** After any allocation, remember the block each family's last address came from. */
export function recordHints(hints: BlockHints, host: string, result: AutoAssignResult): void {
  for (const a of [result.ipv4, result.ipv6]) {
    const last = a.ips.at(-1);
    const block = last && blockOfAddress(last);
    if (block) hints.set(host, a.ipVersion, block);
  }
}

/** A hinted block and the keys an allocation in it reads and writes. */
interface HintedBlock {
  family: 4 | 6;
  cidr: CIDR;
  num: number;
  /** The block's key, its affinity's key for the host, and its CIDR as a handle names it. */
  key: string;
  affinityKey: string;
  text: string;
}

type HintedKeys = Pick<HintedBlock, "cidr" | "key" | "affinityKey" | "text">;

/**
 * Parsed hints by host, family and hint text. A host's hint changes once per block (every 64 addresses
 * or so), so parsing it and formatting its keys on every allocation was wasted work.
 */
const hintKeys = new Map<string, HintedKeys | undefined>();
const HINT_CACHE_LIMIT = 256;

function keysOfHint(host: string, family: 4 | 6, text: string): HintedKeys | undefined {
  const id = `${host}\n${family}\n${text}`;
  if (hintKeys.has(id)) return hintKeys.get(id);
  const cidr = parseCIDR(text);
  const keys =
    cidr && cidr.family === family
      ? { cidr, key: blockKey(cidr), affinityKey: affinityKey(hostOwner(host), cidr), text: formatCIDR(cidr) }
      : undefined;
  if (hintKeys.size >= HINT_CACHE_LIMIT) hintKeys.clear();
  hintKeys.set(id, keys);
  return keys;
}

/** Which blocks an AutoAssign would try first; undefined when the fast path does not apply. */
export function hintedBlocks(
  req: AutoAssignRequest,
  host: string,
  hints: BlockHints,
): HintedBlock[] | undefined {
  if ((req.intendedUse ?? "Workload") === "LoadBalancer") return undefined;
  const out: HintedBlock[] = [];
  for (const [family, num] of [
    [4, req.num4 ?? 0],
    [6, req.num6 ?? 0],
  ] as const) {
    if (num <= 0) continue;
    const text = hints.get(host, family);
    const keys = text ? keysOfHint(host, family, text) : undefined;
    if (!keys) return undefined;
    out.push({ family, num, ...keys });
  }
  return out.length > 0 ? out : undefined;
}

/**
 * The batched read of an assignment: inventory, v2 config, then per family the block (unless
 * `known`, from WrittenBlocks) and its affinity, then the handle.
 */
export function assignReads(
  inventory: InventoryReads,
  host: string,
  blocks: readonly HintedBlock[],
  handleId: string | undefined,
  known: readonly (WrittenBlock | undefined)[] = [],
  /** The inventory and v2 config reads, when a view already holds them. */
  head: readonly KVRead[] = [...inventory.reads(host), { key: CONFIG_KEY }],
): KVRead[] {
  return [
    ...head,
    ...blocks.flatMap((b, i) => [...(known[i] ? [] : [{ key: b.key }]), { key: b.affinityKey }]),
    ...(handleId ? [{ key: handleKey(handleId) }] : []),
  ];
}

/**
 * What an assignment derives from the inventory part of a read (the inventory reads, then the
 * v2 config). It depends only on those results, so one host's view decodes it once for every
 * allocation planned on that view.
 */
export interface InventoryFacts {
  /** How many results the inventory and the v2 config take (where the blocks' start). */
  length: number;
  snapshot: InventorySnapshot;
  config: IPAMConfig;
  pools: IPPoolInfo[];
  reservations: Reservations;
}

export function inventoryFacts(
  inventory: InventoryReads,
  host: string,
  results: KeyValue[][],
): InventoryFacts {
  const n = inventory.reads(host).length;
  const snapshot = inventory.decode(results.slice(0, n));
  return {
    length: n + 1,
    snapshot,
    config: ipamConfigOf(snapshot, results[n]?.[0]),
    pools: poolsFromResources(snapshot.pools),
    reservations: Reservations.fromResources(snapshot.reservations),
  };
}

/** Whether a stored block is the hinted one (a block stored under another's key is the general path's). */
function sameBlock(stored: CIDR, hinted: CIDR): boolean {
  return (
    stored.family === hinted.family &&
    stored.prefix === hinted.prefix &&
    stored.address === networkAddress(hinted)
  );
}

/** Affinities as decoded, by the KeyValue read: a host view hands the same one to every allocation. */
const decodedAffinities = new WeakMap<KeyValue, BlockAffinity>();

function affinityOf(kv: KeyValue): BlockAffinity {
  let affinity = decodedAffinities.get(kv);
  if (!affinity) {
    affinity = decodeAffinity(kv.value);
    decodedAffinities.set(kv, affinity);
  }
  return affinity;
}

/** Decides an assignment from the batched read (laid out as assignReads), or undefined to fall back. */
export function planAssign(
  req: AutoAssignRequest,
  host: string,
  blocks: readonly HintedBlock[],
  inventory: InventoryReads,
  results: KeyValue[][],
  now: Date,
  known: readonly (WrittenBlock | undefined)[] = [],
  facts: InventoryFacts = inventoryFacts(inventory, host, results),
): FastPlan<AutoAssignResult> | undefined {
  const { snapshot, config, pools: allPools, reservations } = facts;
  if (!snapshot.node) return undefined;
  let next = facts.length;
  const owner = hostOwner(host);
  const mine = ownerString(owner);
  const conditions: KVCondition[] = [];
  const writes: KVWrite[] = [];
  const planned: FastPlan<AutoAssignResult>["blocks"] = [];
  const result: AutoAssignResult = {
    ipv4: { ips: [], ipVersion: 4, numRequested: req.num4 ?? 0, msgs: [] },
    ipv6: { ips: [], ipVersion: 6, numRequested: req.num6 ?? 0, msgs: [] },
  };
  const handleId = req.handleId;
  // The handle comes after each family's block (when read) and affinity.
  const handleAt = next + blocks.reduce((n, _, i) => n + (known[i] ? 1 : 2), 0);
  const handleKV = handleId ? results[handleAt]?.[0] : undefined;
  const handle: IPAMHandle = handleKV ? decodeHandle(handleKV.value) : { block: {}, deleted: false };
  for (const [i, hinted] of blocks.entries()) {
    const pools = determinePools({
      pools: allPools,
      family: hinted.family,
      requested: hinted.family === 4 ? req.ipv4Pools : req.ipv6Pools,
      nodeName: host,
      nodeLabels: { ...(snapshot.node.metadata.labels ?? {}) },
      namespaceLabels: req.namespaceLabels,
      use: req.intendedUse ?? "Workload",
    });
    if (!pools.some((p) => cidrContains(p.cidr, hinted.cidr))) return undefined;
    const cached = known[i];
    const blockKV = cached ? undefined : results[next++]?.[0];
    const affinityKV = results[next++]?.[0];
    if (!(cached || blockKV) || !affinityKV) return undefined;
    const affinity = affinityOf(affinityKV);
    if (!isConfirmed(affinity) || affinity.deleted) return undefined;
    const block = cached ? cached.block : decodeBlock(blockKV!.value);
    if (block.affinity !== mine || !sameBlock(block.cidr, hinted.cidr)) return undefined;
    garbageCollect(block, config.ipCooldownSeconds, now);
    const reserved = reservations.forBlock(block.cidr);
    const ords = allocateFromBlock(block, {
      num: hinted.num,
      handleId,
      attrs: req.attrs,
      affinityCheck: mine,
      reserved: reserved.isReserved,
    });
    if (ords.length < hinted.num) return undefined;
    // Every block write bumps the sequence number, as IPAMStore.updateBlock does.
    block.sequenceNumber += 1n;
    const key = hinted.key;
    conditions.push(
      { key, modRevision: cached ? cached.modRevision : blockKV!.modRevision },
      { key: affinityKV.key, modRevision: affinityKV.modRevision },
    );
    writes.push({ type: "put", key, value: encodeBlock(block) });
    planned.push({ key, block });
    const out: IPAMAssignments = hinted.family === 4 ? result.ipv4 : result.ipv6;
    out.ips.push(...ords.map((o) => ordinalToCIDRText(block, o)));
    incrementHandle(handle, hinted.text, ords.length);
  }
  if (handleId) {
    const key = handleKey(handleId);
    conditions.push({ key, modRevision: modOf(handleKV) });
    writes.push({ type: "put", key, value: encodeHandle(handle) });
  }
  return { conditions, writes, outcome: result, blocks: planned };
}

/** What a long-lived client keeps between fast allocations: see written.ts and views.ts. */
export interface FastMemory {
  written: WrittenBlocks;
  views: HostViews;
}

/** etcd allows 128 compares per transaction; a view needing more guards is read instead. */
const MAX_GUARDS = 100;

/**
 * AutoAssign in one read and one transaction, or undefined (nothing written) to fall back.
 * With `memory` (a long-lived client), blocks this client wrote are not read back, and once the
 * host has a view (its last read of everything else) the allocation is a single transaction
 * guarded on that view and on the written blocks; when a guard fails, the same transaction reads
 * the current state and one more transaction, planned on it, completes the allocation.
 */
export async function fastAutoAssign(
  kv: KVStore,
  inventory: InventoryReads,
  req: AutoAssignRequest,
  host: string,
  hints: BlockHints,
  now: Date,
  memory?: FastMemory,
): Promise<AutoAssignResult | undefined> {
  const blocks = hintedBlocks(req, host, hints);
  if (!blocks) return undefined;
  const known = blocks.map((b) => memory?.written.take(b.key));
  const ctx: AssignContext = { kv, inventory, req, host, blocks, now, memory };
  const view = memory?.views.get(host);
  if (
    view &&
    known.every((k) => k !== undefined) &&
    blocks.every((b) => view.affinities.has(b.affinityKey))
  ) {
    return oneTransaction(ctx, view, known);
  }
  const first = await readThenCommit(ctx, known);
  if (first !== "conflict") return first;
  // A written block was stale (or anything else changed): once more, reading everything.
  if (known.every((k) => k === undefined)) return undefined;
  const second = await readThenCommit(ctx, []);
  return second === "conflict" ? undefined : second;
}

interface AssignContext {
  kv: KVStore;
  inventory: InventoryReads;
  req: AutoAssignRequest;
  host: string;
  blocks: readonly HintedBlock[];
  now: Date;
  memory: FastMemory | undefined;
}

/** The plan, or undefined when the fast path does not apply (a decode or selection failure included). */
function plan(
  ctx: AssignContext,
  results: KeyValue[][],
  known: readonly (WrittenBlock | undefined)[],
  view?: HostView,
): FastPlan<AutoAssignResult> | undefined {
  try {
    const facts = view ? factsOf(ctx, view) : undefined;
    return planAssign(ctx.req, ctx.host, ctx.blocks, ctx.inventory, results, ctx.now, known, facts);
  } catch {
    // Whatever failed to decode or select, the general path reports it properly.
    return undefined;
  }
}

/** Each view's inventory facts, decoded on its first use: a view is never changed once made. */
const viewFacts = new WeakMap<HostView, InventoryFacts>();

function factsOf(ctx: AssignContext, view: HostView): InventoryFacts {
  let facts = viewFacts.get(view);
  if (!facts) {
    facts = inventoryFacts(ctx.inventory, ctx.host, view.results);
    viewFacts.set(view, facts);
  }
  return facts;
}

/** Remembers what a read saw of the inventory and the affinities, for the next allocation. */
function rememberView(
  ctx: AssignContext,
  reads: readonly KVRead[],
  read: KVReadManyResult,
): HostView | undefined {
  if (!ctx.memory) return undefined;
  const head = ctx.inventory.reads(ctx.host).length + 1;
  const affinityKeys = new Set(ctx.blocks.map((b) => b.affinityKey));
  const affinities = new Map<string, KeyValue>();
  reads.forEach((r, i) => {
    const found = read.results[i]?.[0];
    if ("key" in r && affinityKeys.has(r.key) && found) affinities.set(r.key, found);
  });
  const view: HostView = {
    revision: read.revision,
    reads: reads.slice(0, head),
    results: read.results.slice(0, head),
    affinities,
  };
  ctx.memory.views.set(ctx.host, view);
  return view;
}

function remember(ctx: AssignContext, planned: FastPlan<AutoAssignResult>, revision: string): void {
  for (const b of planned.blocks) ctx.memory?.written.put(b.key, revision, b.block);
}

/** One batched read (without the blocks in `known`), then one guarded transaction. */
async function readThenCommit(
  ctx: AssignContext,
  known: readonly (WrittenBlock | undefined)[],
): Promise<AutoAssignResult | undefined | "conflict"> {
  // The handle ID is stored as given, as the general path stores it.
  const reads = assignReads(ctx.inventory, ctx.host, ctx.blocks, ctx.req.handleId, known);
  return planAndCommit(ctx, reads, await ctx.kv.readMany(reads), known);
}

/** The allocation planned on a read, committed in one transaction guarded on what it read. */
async function planAndCommit(
  ctx: AssignContext,
  reads: readonly KVRead[],
  read: KVReadManyResult,
  known: readonly (WrittenBlock | undefined)[],
): Promise<AutoAssignResult | undefined | "conflict"> {
  const view = rememberView(ctx, reads, read);
  const planned = plan(ctx, read.results, known, view);
  if (!planned) return undefined;
  const committed = await ctx.kv.commit(planned.conditions, planned.writes);
  if (!committed.succeeded) return "conflict";
  remember(ctx, planned, committed.revision);
  return planned.outcome;
}

/**
 * The allocation planned on the view and the written blocks, committed in one transaction
 * guarded on all of them (the handle guarded absent); if a guard fails, that transaction returns
 * a full read, and a second one planned on it completes the allocation.
 */
async function oneTransaction(
  ctx: AssignContext,
  view: HostView,
  known: readonly WrittenBlock[],
): Promise<AutoAssignResult | undefined> {
  const guards = viewGuards(view);
  // The plan adds a block and an affinity guard per family, and the handle's.
  if (guards.length + 2 * ctx.blocks.length + 1 > MAX_GUARDS) {
    ctx.memory?.views.forget(ctx.host);
    const r = await readThenCommit(ctx, known);
    return r === "conflict" ? undefined : r;
  }
  const assumed: KeyValue[][] = [
    ...view.results,
    ...ctx.blocks.map((b) => [view.affinities.get(b.affinityKey)!]),
    ...(ctx.req.handleId ? [[]] : []),
  ];
  const optimistic = plan(ctx, assumed, known, view);
  if (!optimistic) return undefined;
  const conditions = [...guards, ...optimistic.conditions];
  const fullReads = assignReads(ctx.inventory, ctx.host, ctx.blocks, ctx.req.handleId, [], view.reads);
  const committed = await ctx.kv.commit(conditions, optimistic.writes, fullReads);
  if (committed.succeeded) {
    remember(ctx, optimistic, committed.revision);
    return optimistic.outcome;
  }
  if (!committed.read) return undefined;
  const second = await planAndCommit(ctx, fullReads, committed.read, []);
  return second === "conflict" ? undefined : second;
}

/** The batched read of a release: the handles, the hinted blocks, then what release consults. */
export function releaseReads(
  inventory: InventoryReads,
  host: string,
  handleIds: readonly string[],
  blocks: readonly CIDR[],
): KVRead[] {
  return [
    ...handleIds.map((id) => ({ key: handleKey(id) })),
    ...blocks.map((cidr) => ({ key: blockKey(cidr) })),
    { key: CONFIG_KEY },
    ...inventory.reads(host),
  ];
}

/** Released addresses per handle; undefined for a handle that did not exist. */
export type ReleaseOutcome = Map<string, string[] | undefined>;

/** Decides the release of every handle from the batched read, or undefined to fall back. */
export function planRelease(
  host: string,
  /** Sanitised IDs (as stored), and the names the caller knows them by. */
  handleIds: readonly string[],
  names: readonly string[],
  blocks: readonly CIDR[],
  inventory: InventoryReads,
  results: KeyValue[][],
  now: Date,
): FastPlan<ReleaseOutcome> | undefined {
  const nHandles = handleIds.length;
  const base = nHandles + blocks.length;
  const snapshot = inventory.decode(results.slice(base + 1));
  const config = ipamConfigOf(snapshot, results[base]?.[0]);
  const pools = poolsFromResources(snapshot.pools);
  const byCidr = new Map<string, { kv: KeyValue; block: ReturnType<typeof decodeBlock> }>();
  blocks.forEach((cidr, i) => {
    const kv = results[nHandles + i]?.[0];
    if (kv) byCidr.set(formatCIDR(cidr), { kv, block: decodeBlock(kv.value) });
  });
  const mine = ownerString(hostOwner(host));
  const touched = new Set<string>();
  const conditions: KVCondition[] = [];
  const writes: KVWrite[] = [];
  const outcome: ReleaseOutcome = new Map();
  const planned: FastPlan<ReleaseOutcome>["blocks"] = [];
  for (const [i, id] of handleIds.entries()) {
    const handleKV = results[i]?.[0];
    const name = names[i] ?? id;
    if (!handleKV) {
      outcome.set(name, undefined);
      continue;
    }
    const handle = decodeHandle(handleKV.value);
    const released: string[] = [];
    for (const cidrText of Object.keys(handle.block)) {
      const entry = byCidr.get(cidrText);
      // A block we did not read, or one that is not this host's, is the general path's job.
      if (!entry || entry.block.affinity !== mine) return undefined;
      const block = entry.block;
      if (!touched.has(cidrText)) garbageCollect(block, config.ipCooldownSeconds, now);
      const ords = ordinalsForHandle(block, id);
      released.push(...ords.map((o) => formatIP(ordinalToIP(block, o))));
      releaseOrdinals(block, ords, now);
      garbageCollect(block, config.ipCooldownSeconds, now);
      touched.add(cidrText);
    }
    // Every entry goes (the general path drops over-counts too), so the handle goes.
    conditions.push({ key: handleKV.key, modRevision: handleKV.modRevision });
    writes.push({ type: "delete", key: handleKV.key });
    outcome.set(name, released);
  }
  for (const cidrText of touched) {
    const { kv, block } = byCidr.get(cidrText)!;
    if (isEmpty(block)) {
      // An empty block whose pool no longer selects this node gives up its affinity: general path.
      const pool = poolContainingCIDR(pools, block.cidr);
      if (pool && !(snapshot.node && selectorMatches(pool.nodeSelector, snapshot.node.metadata.labels ?? {})))
        return undefined;
    }
    block.sequenceNumber += 1n;
    conditions.push({ key: kv.key, modRevision: kv.modRevision });
    writes.push({ type: "put", key: kv.key, value: encodeBlock(block) });
    planned.push({ key: kv.key, block });
  }
  return { conditions, writes, outcome, blocks: planned };
}

/**
 * Releases several handles (the CNI's current and legacy handle IDs) in one read and one
 * transaction when their blocks are the hinted ones; undefined (nothing written) to fall back.
 * The blocks are always read (a release is rarer than an allocation), and what is written goes
 * into `memory` for the allocations that follow.
 */
export async function fastReleaseHandles(
  kv: KVStore,
  inventory: InventoryReads,
  handleIds: readonly string[],
  host: string,
  hints: BlockHints,
  now: Date,
  memory?: FastMemory,
): Promise<ReleaseOutcome | undefined> {
  const ids = handleIds.map((id) => sanitiseHandle(id) ?? id);
  const blocks: CIDR[] = [];
  for (const family of [4, 6] as const) {
    const text = hints.get(host, family);
    const cidr = text ? parseCIDR(text) : undefined;
    if (cidr) blocks.push(cidr);
  }
  const { results } = await kv.readMany(releaseReads(inventory, host, ids, blocks));
  let plan: FastPlan<ReleaseOutcome> | undefined;
  try {
    plan = planRelease(host, ids, handleIds, blocks, inventory, results, now);
  } catch {
    return undefined;
  }
  if (!plan) return undefined;
  if (plan.writes.length === 0) return plan.outcome;
  const committed = await kv.commit(plan.conditions, plan.writes);
  if (!committed.succeeded) return undefined;
  for (const b of plan.blocks) memory?.written.put(b.key, committed.revision, b.block);
  return plan.outcome;
}
