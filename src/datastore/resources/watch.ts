/**
 * Resource-level watch over a KV prefix watch. Without a start revision it lists first and
 * emits every object as `added`, then watches from the list's revision, so nothing falls in
 * between. An undecodable value becomes an `error` event and the watch goes on.
 */
import type { KindInfo } from "../../api/kinds.js";
import type { ResourceKey } from "../../api/meta.js";
import type { KeyValue, KVStore, KVWatch, KVWatchEvent } from "../kv.js";
import type { ResourceWatchEvent, ResourceWatchListener } from "../types.js";
import { isDefaultAllowProfile } from "./default-profile.js";
import { decodeResource } from "./encoding.js";
import { parseResourcePath } from "./keys.js";

export class ResourceWatch {
  private kvWatch: KVWatch | undefined;
  private closed = false;

  constructor(
    private readonly kv: KVStore,
    private readonly info: KindInfo,
    private readonly prefix: string,
    private readonly listener: ResourceWatchListener,
    afterRevision: string | undefined,
  ) {
    if (afterRevision !== undefined) this.watchFrom(afterRevision);
    else void this.listThenWatch();
  }

  private keyOf(path: string): ResourceKey | undefined {
    const key = parseResourcePath(this.info, path);
    // Never stored by us, but filtered in case something wrote it behind our back.
    return key && !isDefaultAllowProfile(key.kind, key.name) ? key : undefined;
  }

  private emit(event: ResourceWatchEvent): void {
    if (!this.closed) this.listener.onEvent(event);
  }

  private async listThenWatch(): Promise<void> {
    let listed: { kvs: KeyValue[]; revision: string };
    try {
      listed = await this.kv.list(this.prefix);
    } catch (err) {
      if (!this.closed) this.listener.onError(err as Error);
      return;
    }
    for (const kv of listed.kvs) {
      const key = this.keyOf(kv.key);
      if (!key) continue;
      try {
        this.emit({ type: "added", key, revision: kv.modRevision, resource: decodeResource(this.info, kv) });
      } catch (error) {
        this.emit({ type: "error", key: kv.key, error: error as Error });
      }
    }
    this.watchFrom(listed.revision);
  }

  private watchFrom(revision: string): void {
    if (this.closed) return;
    this.kvWatch = this.kv.watch(this.prefix, revision, {
      onEvent: (event) => this.handle(event),
      onError: (error) => {
        if (!this.closed) this.listener.onError(error);
      },
    });
  }

  private handle(event: KVWatchEvent): void {
    const path = event.type === "put" ? event.kv.key : event.key;
    const key = this.keyOf(path);
    if (!key) return;
    try {
      this.emit(this.convert(key, event));
    } catch (error) {
      this.emit({ type: "error", key: path, error: error as Error });
    }
  }

  private convert(key: ResourceKey, event: KVWatchEvent): ResourceWatchEvent {
    if (event.type === "delete") {
      if (!event.prev) throw new Error(`delete of ${event.key} arrived without its previous value`);
      return {
        type: "deleted",
        key,
        revision: event.revision,
        previous: decodeResource(this.info, event.prev),
      };
    }
    const resource = decodeResource(this.info, event.kv);
    const revision = event.kv.modRevision;
    if (event.kv.version === "1") return { type: "added", key, revision, resource };
    const previous = this.decodePrevious(event.prev);
    return previous
      ? { type: "modified", key, revision, resource, previous }
      : { type: "modified", key, revision, resource };
  }

  /** The old value is a courtesy on modifications; an unreadable one is simply left out. */
  private decodePrevious(prev: KeyValue | undefined) {
    if (!prev) return undefined;
    try {
      return decodeResource(this.info, prev);
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.kvWatch?.close();
  }
}
