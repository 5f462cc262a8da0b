/** Public surface of calico-ts block IPAM (`calico-ts/ipam`). */
export { type AffinityState, type BlockAffinity, decodeAffinity, encodeAffinity } from "./affinity.js";
export {
  type AssignIPRequest,
  AutoAssignError,
  type AutoAssignRequest,
  type AutoAssignResult,
  type IPAMAssignments,
  partialFulfillmentMessage,
} from "./assign.js";
export { parseBigJson, stringifyBigJson } from "./bigjson.js";
export {
  type AllocationAttribute,
  type AllocationBlock,
  decodeBlock,
  encodeBlock,
  validateBlock,
  WINDOWS_RESERVED_HANDLE,
} from "./block.js";
export { IPAMClient, type IPAMClientOptions } from "./client.js";
export { DEFAULT_BLOCK_CAP, DEFAULT_IPAM_CONFIG, type IPAMConfig } from "./config.js";
export type { IPAMLogger } from "./context.js";
export {
  AddressInUseError,
  AddressNotAssignedError,
  AffinityMismatchError,
  BlockLimitError,
  InvalidIPAMRequestError,
  IPAMError,
  IPInCooldownError,
  MaxRetriesError,
  NoQualifiedPoolError,
  ReleaseMismatchError,
} from "./errors.js";
export { decodeHandle, encodeHandle, type IPAMHandle } from "./handle.js";
export { type BlockHints, FileHints, MemoryHints } from "./hints.js";
export { type IPAMInventory, inventoryFromStore } from "./inventory.js";
export {
  type AffinityOwner,
  affinityKey,
  BLOCK_PREFIX,
  blockKey,
  CONFIG_KEY,
  HANDLE_PREFIX,
  handleKey,
  parseAffinityKey,
} from "./keys.js";
export type { IntendedUse, IPPoolInfo } from "./pools.js";
export type { AssignmentAttributes } from "./query.js";
export type { ReleaseOptions, ReleaseResult } from "./release.js";
export type { AffinityEntry, HandleEntry, IPAMStore, Versioned } from "./store.js";
export { type BlockUtilization, ORPHANED_BLOCKS, type PoolUtilization } from "./utilization.js";
