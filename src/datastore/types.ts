/**
 * The resource-level datastore contract: Calico's v3 objects stored under Calico's etcd key
 * layout with Calico's value encoding, on top of any KVStore. It does not validate or default
 * (that is the client layer's job); it enforces only what the backend enforces in Calico:
 * create-if-absent, compare-and-swap on resourceVersion, and metadata rules.
 */
import type { Resource, ResourceKey } from "../api/meta.js";
import type { KVStore } from "./kv.js";

export interface ListOptions {
  /** Namespaced kinds only: restrict to one namespace. */
  namespace?: string;
  /** Read as of this revision. */
  revision?: string;
}

export interface ResourceList {
  items: Resource[];
  /** Store revision of the list (a list's `metadata.resourceVersion`). */
  revision: string;
}

export type ResourceWatchEvent =
  | { type: "added"; key: ResourceKey; revision: string; resource: Resource }
  | { type: "modified"; key: ResourceKey; revision: string; resource: Resource; previous?: Resource }
  | { type: "deleted"; key: ResourceKey; revision: string; previous: Resource }
  /** One value could not be decoded; the watch continues. */
  | { type: "error"; key?: string; error: Error };

export interface ResourceWatchListener {
  onEvent(event: ResourceWatchEvent): void;
  /** The watch ended (e.g. compaction); no more events follow. */
  onError(error: Error): void;
}

export interface ResourceWatchOptions {
  namespace?: string;
  /**
   * Deliver events after this revision. When absent the watch first lists and emits every
   * existing object as `added`, then continues from the list revision with no gap.
   */
  afterRevision?: string;
}

export interface ResourceStore {
  /** The KV store underneath, for non-v3 data such as IPAM blocks and Felix status. */
  readonly kv: KVStore;
  get(key: ResourceKey, opts?: { revision?: string }): Promise<Resource>;
  list(kind: string, opts?: ListOptions): Promise<ResourceList>;
  /** Stores a new object; fills `uid` and `creationTimestamp` if absent. */
  create(resource: Resource): Promise<Resource>;
  /** Compare-and-swap on `metadata.resourceVersion` (required). */
  update(resource: Resource): Promise<Resource>;
  /** Deletes, optionally only at `resourceVersion`; returns the deleted object. */
  delete(key: ResourceKey, opts?: { resourceVersion?: string }): Promise<Resource>;
  watch(
    kind: string,
    opts: ResourceWatchOptions,
    listener: ResourceWatchListener,
  ): { close(): Promise<void> };
  close(): Promise<void>;
}
