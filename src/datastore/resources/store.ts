/**
 * CalicoResourceStore: Calico's v3 resources on any KVStore, with Calico's key layout, value
 * encoding, resourceVersion = etcd revision, and the metadata rules of its resource layer.
 * Validation and defaulting of specs belong to the client layer above.
 */
import { randomUUID } from "node:crypto";
import { type KindInfo, kindInfo } from "../../api/kinds.js";
import { formatResourceKey, type Resource, type ResourceKey } from "../../api/meta.js";
import {
  InvalidRequestError,
  OperationNotSupportedError,
  ResourceAlreadyExistsError,
  ResourceNotFoundError,
  UpdateConflictError,
} from "../errors.js";
import type { KeyValue, KVStore } from "../kv.js";
import { parseRevision } from "../revision.js";
import type {
  ListOptions,
  ResourceList,
  ResourceStore,
  ResourceWatchListener,
  ResourceWatchOptions,
} from "../types.js";
import { DEFAULT_ALLOW_PROFILE, defaultAllowProfile, isDefaultAllowProfile } from "./default-profile.js";
import { decodeResource, encodeResource } from "./encoding.js";
import { listPrefix, parseResourcePath, resourcePath } from "./keys.js";
import { checkCreate, checkNamespace, checkResourceVersion, checkUpdate, nowTimestamp } from "./metadata.js";
import { ResourceWatch } from "./watch.js";

export interface ResourceStoreOptions {
  /** Kinds beyond the public v3 catalogue (internal kinds some components store). */
  extraKinds?: readonly KindInfo[];
  /** Told about each value a list skipped because it could not be decoded (someone else wrote it). */
  onSkipped?: (key: string, reason: string) => void;
}

function keyOf(resource: Resource): ResourceKey {
  const { name = "", namespace } = resource.metadata;
  return namespace ? { kind: resource.kind, name, namespace } : { kind: resource.kind, name };
}

export class CalicoResourceStore implements ResourceStore {
  private readonly extraKinds: Map<string, KindInfo>;
  private readonly onSkipped: ((key: string, reason: string) => void) | undefined;

  constructor(
    readonly kv: KVStore,
    opts: ResourceStoreOptions = {},
  ) {
    this.extraKinds = new Map((opts.extraKinds ?? []).map((k) => [k.kind, k]));
    this.onSkipped = opts.onSkipped;
  }

  private info(kind: string): KindInfo {
    const info = kindInfo(kind) ?? this.extraKinds.get(kind);
    if (!info) throw new InvalidRequestError(`resource type '${kind}' is not supported`);
    return info;
  }

  private refuseBuiltIn(operation: string, key: ResourceKey): void {
    if (isDefaultAllowProfile(key.kind, key.name)) {
      throw new OperationNotSupportedError(operation, formatResourceKey(key), "the profile is built in");
    }
  }

  /** Decodes a KV pair read for `key`, or undefined if absent. */
  private decodeOptional(info: KindInfo, kv: KeyValue | undefined): Resource | undefined {
    return kv ? decodeResource(info, kv) : undefined;
  }

  async get(key: ResourceKey, opts: { revision?: string } = {}): Promise<Resource> {
    const info = this.info(key.kind);
    checkNamespace(info, key.namespace);
    if (isDefaultAllowProfile(key.kind, key.name)) return defaultAllowProfile();
    const path = resourcePath(info, key);
    let kv: KeyValue | undefined;
    if (opts.revision === undefined) {
      kv = await this.kv.get(path);
    } else {
      parseRevision(opts.revision);
      // The KV contract reads past revisions only through list; the exact key is filtered out.
      kv = (await this.kv.list(path, { revision: opts.revision })).kvs.find((k) => k.key === path);
    }
    if (!kv) throw new ResourceNotFoundError(formatResourceKey(key));
    return decodeResource(info, kv);
  }

  async list(kind: string, opts: ListOptions = {}): Promise<ResourceList> {
    const info = this.info(kind);
    if (!info.namespaced && opts.namespace) checkNamespace(info, opts.namespace);
    const listed = await this.kv.list(
      listPrefix(info, opts.namespace),
      opts.revision ? { revision: opts.revision } : {},
    );
    const items: Resource[] = [];
    for (const kv of listed.kvs) {
      const key = parseResourcePath(info, kv.key);
      if (!key || isDefaultAllowProfile(key.kind, key.name)) continue;
      try {
        items.push(decodeResource(info, kv));
      } catch (err) {
        // Calico lists skip values they cannot read rather than failing the whole list.
        this.onSkipped?.(kv.key, (err as Error).message);
      }
    }
    if (kind === "Profile") insertDefaultAllow(items);
    return { items, revision: listed.revision };
  }

  async create(resource: Resource): Promise<Resource> {
    const info = this.info(resource.kind);
    checkCreate(info, resource.metadata);
    const key = keyOf(resource);
    this.refuseBuiltIn("Create", key);
    const metadata = {
      ...resource.metadata,
      uid: resource.metadata.uid || randomUUID(),
      creationTimestamp: resource.metadata.creationTimestamp || nowTimestamp(),
    };
    const stored = { ...resource, metadata };
    const path = resourcePath(info, key);
    const value = encodeResource(info, stored);
    try {
      const revision = await this.kv.create(path, value);
      return decodeResource(info, written(path, value, revision));
    } catch (err) {
      if (err instanceof ResourceAlreadyExistsError) {
        throw new ResourceAlreadyExistsError(
          formatResourceKey(key),
          this.decodeOptional(info, err.existing as KeyValue | undefined),
        );
      }
      throw err;
    }
  }

  async update(resource: Resource): Promise<Resource> {
    const info = this.info(resource.kind);
    checkUpdate(info, resource.metadata);
    const key = keyOf(resource);
    this.refuseBuiltIn("Update", key);
    const path = resourcePath(info, key);
    const value = encodeResource(info, resource);
    try {
      const revision = await this.kv.update(path, value, resource.metadata.resourceVersion!);
      return decodeResource(info, written(path, value, revision));
    } catch (err) {
      throw this.resourceError(info, key, err);
    }
  }

  async delete(key: ResourceKey, opts: { resourceVersion?: string } = {}): Promise<Resource> {
    const info = this.info(key.kind);
    checkNamespace(info, key.namespace);
    this.refuseBuiltIn("Delete", key);
    if (opts.resourceVersion) checkResourceVersion(opts.resourceVersion);
    try {
      const prev = await this.kv.delete(resourcePath(info, key), opts.resourceVersion || undefined);
      return decodeResource(info, prev);
    } catch (err) {
      throw this.resourceError(info, key, err);
    }
  }

  /** Re-labels KV-level CAS errors with the resource's `Kind(ns/name)` identifier. */
  private resourceError(info: KindInfo, key: ResourceKey, err: unknown): unknown {
    if (err instanceof UpdateConflictError) {
      return new UpdateConflictError(
        formatResourceKey(key),
        this.decodeOptional(info, err.latest as KeyValue | undefined),
      );
    }
    if (err instanceof ResourceNotFoundError) return new ResourceNotFoundError(formatResourceKey(key));
    return err;
  }

  watch(
    kind: string,
    opts: ResourceWatchOptions,
    listener: ResourceWatchListener,
  ): { close(): Promise<void> } {
    const info = this.info(kind);
    if (!info.namespaced && opts.namespace) checkNamespace(info, opts.namespace);
    if (opts.afterRevision !== undefined) parseRevision(opts.afterRevision);
    return new ResourceWatch(this.kv, info, listPrefix(info, opts.namespace), listener, opts.afterRevision);
  }

  async close(): Promise<void> {
    await this.kv.close();
  }
}

/** What a write just stored, in the shape decodeResource reads (it uses key, value and revision). */
function written(key: string, value: string, revision: string): KeyValue {
  return { key, value, modRevision: revision, createRevision: revision, version: "" };
}

/** The synthesised profile takes its place in key (name) order. */
function insertDefaultAllow(items: Resource[]): void {
  const at = items.findIndex((r) => (r.metadata.name ?? "") > DEFAULT_ALLOW_PROFILE);
  items.splice(at === -1 ? items.length : at, 0, defaultAllowProfile());
}
