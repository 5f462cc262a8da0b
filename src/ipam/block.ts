/**
 * The allocation block: the unit of IPAM storage and of compare-and-swap. This module is the
 * block's data model and every in-block operation (allocate, assign, release, cooldown GC,
 * invariants). It does no I/O. Operations mutate the block they are given: callers work on a
 * freshly decoded copy and throw it away when the write that follows loses a CAS race.
 */
import {
  type CIDR,
  cidrContainsIP,
  cidrSize,
  formatCIDR,
  formatIP,
  type IPAddr,
  networkAddress,
  parseCIDR,
} from "../lib/net.js";
import { type BigJsonValue, parseBigJson, toBigInt } from "./bigjson.js";
import { AddressInUseError, AffinityMismatchError, IPAMError } from "./errors.js";

/** Handle of the addresses the Windows CNI pre-allocates in each block; they do not make a block "used". */
export const WINDOWS_RESERVED_HANDLE = "windows-reserved-ipam-handle";

export interface AllocationAttribute {
  handle_id?: string;
  /** The active owner's attributes (`node`, `pod`, `namespace`, `timestamp`, `type`...). */
  secondary?: Record<string, string>;
  alternateOwnerAttrs?: Record<string, string>;
  /** Present only on cooldown records: when the addresses pointing here were released. */
  releasedAt?: string;
}

export interface AllocationBlock {
  cidr: CIDR;
  /** `host:<node>`, `virtual:<name>`, or null for an unowned block. */
  affinity: string | null;
  affinityClaimTime?: string;
  /** Per ordinal: index into `attributes`, or null when free. */
  allocations: (number | null)[];
  /** Free ordinals, FIFO: allocation takes from the front, release appends to the back. */
  unallocated: number[];
  attributes: AllocationAttribute[];
  sequenceNumber: bigint;
  /** Ordinal (decimal text) → block sequence number when it was allocated or released. */
  sequenceNumberForAllocation: Record<string, bigint>;
  deleted: boolean;
}

/** Cuts a handle at its first `\r`, repairing IDs written by an old host-local migration bug. */
export function sanitiseHandle(handle: string | undefined): string | undefined {
  if (handle === undefined) return undefined;
  const cr = handle.indexOf("\r");
  return cr < 0 ? handle : handle.slice(0, cr);
}

export function blockSize(block: AllocationBlock): number {
  return Number(cidrSize(block.cidr));
}

/** A new, empty block: every ordinal free in ascending order. */
export function newBlock(
  cidr: CIDR,
  affinity: string | null,
  now: Date,
  sequenceNumber: bigint,
): AllocationBlock {
  const size = Number(cidrSize(cidr));
  return {
    cidr: { ...cidr, address: networkAddress(cidr) },
    affinity,
    ...(affinity === null ? {} : { affinityClaimTime: rfc3339(now) }),
    allocations: new Array<number | null>(size).fill(null),
    unallocated: Array.from({ length: size }, (_, i) => i),
    attributes: [],
    sequenceNumber,
    sequenceNumberForAllocation: {},
    deleted: false,
  };
}

/** A fresh block's sequence number: wall-clock nanoseconds, like Calico. */
export function initialSequenceNumber(now: Date): bigint {
  return BigInt(now.getTime()) * 1_000_000n;
}

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, "Z");
}

/** The block CIDR that holds `ip` in a pool with the given block size. */
export function blockCIDRFor(ip: IPAddr, blockPrefix: number): CIDR {
  const c: CIDR = { family: ip.family, address: ip.value, prefix: blockPrefix };
  return { ...c, address: networkAddress(c) };
}

export function ordinalToIP(block: AllocationBlock, ordinal: number): IPAddr {
  return { family: block.cidr.family, value: networkAddress(block.cidr) + BigInt(ordinal) };
}

export function ipToOrdinal(block: AllocationBlock, ip: IPAddr): number | undefined {
  if (!cidrContainsIP(block.cidr, ip)) return undefined;
  return Number(ip.value - networkAddress(block.cidr));
}

/** `a.b.c.d/<block prefix>`: AutoAssign returns addresses carrying the block's mask. */
export function ordinalToCIDRText(block: AllocationBlock, ordinal: number): string {
  return `${formatIP(ordinalToIP(block, ordinal))}/${block.cidr.prefix}`;
}

export function blockCIDRText(block: AllocationBlock): string {
  return formatCIDR(block.cidr);
}

function recordAt(block: AllocationBlock, ordinal: number): AllocationAttribute | undefined {
  const idx = block.allocations[ordinal];
  return idx === null || idx === undefined ? undefined : block.attributes[idx];
}

export function isAllocated(block: AllocationBlock, ordinal: number): boolean {
  const idx = block.allocations[ordinal];
  return idx !== null && idx !== undefined;
}

export function isInCooldown(block: AllocationBlock, ordinal: number): boolean {
  return recordAt(block, ordinal)?.releasedAt !== undefined;
}

export function attributeAt(block: AllocationBlock, ordinal: number): AllocationAttribute | undefined {
  return recordAt(block, ordinal);
}

export function handleAt(block: AllocationBlock, ordinal: number): string | undefined {
  return sanitiseHandle(recordAt(block, ordinal)?.handle_id);
}

/** No allocations other than Windows host-reserved ones (cooldown addresses count as used). */
export function isEmpty(block: AllocationBlock): boolean {
  for (let ord = 0; ord < block.allocations.length; ord++) {
    if (isAllocated(block, ord) && handleAt(block, ord) !== WINDOWS_RESERVED_HANDLE) return false;
  }
  return true;
}

/** Addresses counted as in use (capacity minus free, so cooldown addresses are in use). */
export function inUseCount(block: AllocationBlock): number {
  return block.allocations.length - block.unallocated.length;
}

/** Free ordinals that `reserved` does not exclude. */
export function freeCount(block: AllocationBlock, reserved?: (ordinal: number) => boolean): number {
  if (!reserved) return block.unallocated.length;
  let n = 0;
  for (const ord of block.unallocated) if (!reserved(ord)) n++;
  return n;
}

export function sequenceNumberOf(block: AllocationBlock, ordinal: number): bigint {
  return block.sequenceNumberForAllocation[String(ordinal)] ?? 0n;
}

function sameStringMap(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const ak = a ? Object.keys(a) : [];
  const bk = b ? Object.keys(b) : [];
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!b || !Object.hasOwn(b, k) || b[k] !== a?.[k]) return false;
  return true;
}

function sameRecord(a: AllocationAttribute, b: AllocationAttribute): boolean {
  return (
    a.handle_id === b.handle_id &&
    a.releasedAt === b.releasedAt &&
    sameStringMap(a.secondary, b.secondary) &&
    sameStringMap(a.alternateOwnerAttrs, b.alternateOwnerAttrs)
  );
}

function ownerRecord(
  handleId: string | undefined,
  attrs: Record<string, string> | undefined,
): AllocationAttribute {
  const rec: AllocationAttribute = {};
  if (handleId !== undefined && handleId !== "") rec.handle_id = handleId;
  if (attrs && Object.keys(attrs).length > 0) rec.secondary = { ...attrs };
  return rec;
}

/** Index of a record deep-equal to `rec`, appending it when there is none. */
function findOrAddRecord(block: AllocationBlock, rec: AllocationAttribute): number {
  const i = block.attributes.findIndex((r) => sameRecord(r, rec));
  if (i >= 0) return i;
  block.attributes.push(rec);
  return block.attributes.length - 1;
}

function checkAffinity(block: AllocationBlock, owner: string): void {
  if (block.affinity === null) {
    throw new AffinityMismatchError(`Block affinity (none) does not match provided (${owner})`);
  }
  if (block.affinity !== owner) {
    throw new AffinityMismatchError(`Block affinity (${block.affinity}) does not match provided (${owner})`);
  }
}

export interface AllocateOptions {
  num: number;
  handleId?: string;
  attrs?: Record<string, string>;
  /** With an owner, refuse blocks not affine to it (strict affinity). */
  affinityCheck?: string;
  reserved?: (ordinal: number) => boolean;
}

/**
 * Takes up to `num` free, non-reserved ordinals in `unallocated` order; reserved ones keep their
 * places in the queue. Returns the ordinals taken (none means the block is full).
 */
export function allocateFromBlock(block: AllocationBlock, opts: AllocateOptions): number[] {
  if (opts.affinityCheck !== undefined) checkAffinity(block, opts.affinityCheck);
  const taken: number[] = [];
  const kept: number[] = [];
  for (const ord of block.unallocated) {
    if (taken.length < opts.num && !opts.reserved?.(ord)) taken.push(ord);
    else kept.push(ord);
  }
  if (taken.length === 0) return taken;
  const idx = findOrAddRecord(block, ownerRecord(opts.handleId, opts.attrs));
  for (const ord of taken) {
    block.allocations[ord] = idx;
    block.sequenceNumberForAllocation[String(ord)] = block.sequenceNumber;
  }
  block.unallocated = kept;
  return taken;
}

/** Allocates one specific ordinal; throws ResourceAlreadyExistsError when it is in use. */
export function assignOrdinal(
  block: AllocationBlock,
  ordinal: number,
  opts: { handleId?: string; attrs?: Record<string, string>; affinityCheck?: string },
): void {
  if (opts.affinityCheck !== undefined) checkAffinity(block, opts.affinityCheck);
  if (ordinal < 0 || ordinal >= block.allocations.length) {
    throw new IPAMError(`ordinal ${ordinal} outside block ${blockCIDRText(block)}`);
  }
  if (isAllocated(block, ordinal)) {
    throw new AddressInUseError(formatIP(ordinalToIP(block, ordinal)));
  }
  block.allocations[ordinal] = findOrAddRecord(block, ownerRecord(opts.handleId, opts.attrs));
  block.unallocated = block.unallocated.filter((o) => o !== ordinal);
  block.sequenceNumberForAllocation[String(ordinal)] = block.sequenceNumber;
}

/**
 * Puts allocated ordinals into cooldown: they point at one new `{releasedAt}` record until
 * `garbageCollect` frees them. Ordinals that are free or already cooling down are ignored.
 */
export function releaseOrdinals(block: AllocationBlock, ordinals: Iterable<number>, now: Date): number[] {
  const released: number[] = [];
  for (const ord of ordinals) {
    if (isAllocated(block, ord) && !isInCooldown(block, ord) && !released.includes(ord)) released.push(ord);
  }
  if (released.length === 0) return released;
  block.attributes.push({ releasedAt: rfc3339(now) });
  const idx = block.attributes.length - 1;
  for (const ord of released) {
    block.allocations[ord] = idx;
    block.sequenceNumberForAllocation[String(ord)] = block.sequenceNumber;
  }
  compactAttributes(block);
  return released;
}

/**
 * Frees cooldown addresses whose cooldown has passed (appending them to `unallocated`) and drops
 * attribute records nothing points at, renumbering the rest. Returns whether anything changed.
 */
export function garbageCollect(block: AllocationBlock, cooldownSeconds: number, now: Date): boolean {
  let changed = false;
  const cutoff = now.getTime() - cooldownSeconds * 1000;
  for (let ord = 0; ord < block.allocations.length; ord++) {
    const rec = recordAt(block, ord);
    if (rec?.releasedAt === undefined) continue;
    const at = Date.parse(rec.releasedAt);
    if (cooldownSeconds > 0 && !(at <= cutoff)) continue;
    block.allocations[ord] = null;
    block.unallocated.push(ord);
    delete block.sequenceNumberForAllocation[String(ord)];
    changed = true;
  }
  return compactAttributes(block) || changed;
}

/** Drops attribute records no allocation points at, renumbering the rest. */
function compactAttributes(block: AllocationBlock): boolean {
  const used = new Set<number>();
  for (const idx of block.allocations) if (idx !== null) used.add(idx);
  if (used.size === block.attributes.length) return false;
  const renumber = new Map<number, number>();
  const kept: AllocationAttribute[] = [];
  block.attributes.forEach((rec, i) => {
    if (!used.has(i)) return;
    renumber.set(i, kept.length);
    kept.push(rec);
  });
  block.attributes = kept;
  block.allocations = block.allocations.map((idx) => (idx === null ? null : (renumber.get(idx) ?? null)));
  return true;
}

/** Ordinals whose (sanitised) handle is `handleId`, excluding cooldown ones. */
export function ordinalsForHandle(block: AllocationBlock, handleId: string): number[] {
  const out: number[] = [];
  for (let ord = 0; ord < block.allocations.length; ord++) {
    if (!isInCooldown(block, ord) && handleAt(block, ord) === handleId) out.push(ord);
  }
  return out;
}

/** The problems `calicoctl ipam check` reports for a block; empty when valid. */
export function validateBlock(block: AllocationBlock, now: Date): string[] {
  const problems: string[] = [];
  const size = block.allocations.length;
  const referenced = new Set<number>();
  let allocated = 0;
  block.allocations.forEach((idx, ord) => {
    if (idx === null) return;
    allocated++;
    referenced.add(idx);
    if (idx < 0 || idx >= block.attributes.length)
      problems.push(`ordinal ${ord} refers to missing attribute ${idx}`);
  });
  block.attributes.forEach((rec, i) => {
    if (!referenced.has(i)) problems.push(`attribute ${i} is not referenced by any allocation`);
    if (rec.releasedAt !== undefined && Date.parse(rec.releasedAt) > now.getTime()) {
      problems.push(`attribute ${i} has releasedAt in the future (${rec.releasedAt})`);
    }
  });
  const seen = new Set<number>();
  for (const ord of block.unallocated) {
    if (seen.has(ord)) problems.push(`unallocated ordinal ${ord} is listed twice`);
    seen.add(ord);
    if (!Number.isInteger(ord) || ord < 0 || ord >= size)
      problems.push(`unallocated ordinal ${ord} is out of range`);
    else if (block.allocations[ord] !== null) problems.push(`unallocated ordinal ${ord} is allocated`);
  }
  if (block.unallocated.length + allocated !== size) {
    problems.push(
      `unallocated (${block.unallocated.length}) + allocated (${allocated}) does not equal block size (${size})`,
    );
  }
  return problems;
}

// ---- JSON codec (Calico's field names and order; sequence numbers as bare 64-bit integers) ----

function stringMap(v: BigJsonValue | undefined): Record<string, string> | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  // fromEntries defines own properties: a "__proto__" key stays a key, as Calico's Go map keeps it,
  // where assigning it would set the object's prototype and lose it.
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"));
}

function decodeAttribute(v: BigJsonValue): AllocationAttribute {
  const rec: AllocationAttribute = {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) return rec;
  if (typeof v.handle_id === "string") rec.handle_id = v.handle_id;
  const secondary = stringMap(v.secondary);
  if (secondary && Object.keys(secondary).length > 0) rec.secondary = secondary;
  const alt = stringMap(v.alternateOwnerAttrs);
  if (alt && Object.keys(alt).length > 0) rec.alternateOwnerAttrs = alt;
  if (typeof v.releasedAt === "string") rec.releasedAt = v.releasedAt;
  return rec;
}

export class BlockDecodeError extends IPAMError {
  override name = "BlockDecodeError";
}

/** Parses a stored block value. */
export function decodeBlock(text: string): AllocationBlock {
  const v = parseBigJson(text);
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new BlockDecodeError("block is not an object");
  const cidr = typeof v.cidr === "string" ? parseCIDR(v.cidr) : undefined;
  if (!cidr) throw new BlockDecodeError(`block has an invalid cidr: ${String(v.cidr)}`);
  const size = Number(cidrSize(cidr));
  const rawAlloc = Array.isArray(v.allocations) ? v.allocations : [];
  const allocations: (number | null)[] = [];
  for (let i = 0; i < size; i++) {
    const a = rawAlloc[i];
    allocations.push(typeof a === "number" ? a : null);
  }
  const unallocated = Array.isArray(v.unallocated)
    ? v.unallocated.filter((o): o is number => typeof o === "number")
    : [];
  const attributes = Array.isArray(v.attributes) ? v.attributes.map(decodeAttribute) : [];
  const seqMap: Record<string, bigint> = {};
  const rawSeq = v.sequenceNumberForAllocation;
  if (rawSeq !== null && typeof rawSeq === "object" && !Array.isArray(rawSeq)) {
    for (const [k, val] of Object.entries(rawSeq)) {
      const n = toBigInt(val);
      if (n !== undefined) seqMap[k] = n;
    }
  }
  let affinity = typeof v.affinity === "string" ? v.affinity : null;
  // Blocks written before `affinity` existed carry only the bare node name.
  if (affinity === null && typeof v.hostAffinity === "string" && v.hostAffinity !== "") {
    affinity = `host:${v.hostAffinity}`;
  }
  const block: AllocationBlock = {
    cidr: { ...cidr, address: networkAddress(cidr) },
    affinity,
    allocations,
    unallocated,
    attributes,
    sequenceNumber: toBigInt(v.sequenceNumber) ?? 0n,
    sequenceNumberForAllocation: seqMap,
    deleted: v.deleted === true,
  };
  if (typeof v.affinity_claim_time === "string") block.affinityClaimTime = v.affinity_claim_time;
  return block;
}

/**
 * Each record's JSON, kept: a block is rewritten on every allocation but only its newest record
 * is new, so re-encoding all of them made the writes of a block quadratic. Records are never
 * changed once in a block (release and allocation push new ones), so the text stays right.
 */
const encodedAttributes = new WeakMap<AllocationAttribute, string>();

function encodeAttribute(rec: AllocationAttribute): string {
  let text = encodedAttributes.get(rec);
  if (text === undefined) {
    text = JSON.stringify({
      handle_id: rec.handle_id,
      secondary: rec.secondary,
      alternateOwnerAttrs: rec.alternateOwnerAttrs,
      releasedAt: rec.releasedAt,
    });
    encodedAttributes.set(rec, text);
  }
  return text;
}

/**
 * Serialises a block in Calico's stored form. The only 64-bit integers are the sequence numbers,
 * written here by hand; everything else goes through V8's JSON.stringify, which gives the same
 * text as stringifyBigJson at a fraction of the cost (a block is written on every allocation).
 */
export function encodeBlock(block: AllocationBlock): string {
  // Go marshals map keys in byte order.
  const seq = Object.keys(block.sequenceNumberForAllocation)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${block.sequenceNumberForAllocation[k] as bigint}`)
    .join(",");
  const claimTime =
    block.affinityClaimTime === undefined
      ? ""
      : `,"affinity_claim_time":${JSON.stringify(block.affinityClaimTime)}`;
  return (
    `{"cidr":${JSON.stringify(formatCIDR(block.cidr))},"affinity":${JSON.stringify(block.affinity)}${claimTime}` +
    `,"allocations":${JSON.stringify(block.allocations)},"unallocated":${JSON.stringify(block.unallocated)}` +
    `,"attributes":[${block.attributes.map(encodeAttribute).join(",")}]` +
    `,"sequenceNumber":${block.sequenceNumber},"sequenceNumberForAllocation":{${seq}},"deleted":${block.deleted}}`
  );
}
