/**
 * One prefix watch on its own gRPC watch stream. Unlike the etcd3 library's Watcher, it never
 * reconnects behind the caller's back: compaction, a cancelled watch or a lost connection end it
 * with onError, and the caller (the syncer) decides whether to re-watch or re-list.
 */
import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from "etcd3";
import { DatastoreUnavailableError, RevisionCompactedError } from "../errors.js";
import type { KVWatch, KVWatchEvent, KVWatchListener } from "../kv.js";
import { nextRevision } from "../revision.js";
import { prefixRangeEnd, toKeyValue } from "./convert.js";
import { translateEtcdError } from "./errors.js";

export type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

function toEvent(ev: IEvent): KVWatchEvent {
  const prev = ev.prev_kv ? toKeyValue(ev.prev_kv) : undefined;
  if (ev.type === "Delete") {
    // A tombstone's mod_revision is the revision of the delete.
    const base = { type: "delete" as const, key: ev.kv.key.toString("utf8"), revision: ev.kv.mod_revision };
    return prev ? { ...base, prev } : base;
  }
  const kv = toKeyValue(ev.kv);
  return prev ? { type: "put", kv, prev } : { type: "put", kv };
}

export class EtcdWatch implements KVWatch {
  private stream: WatchStream | undefined;
  private closed = false;
  private failed = false;
  private readonly startRevision: string;

  constructor(
    openStream: () => Promise<WatchStream>,
    private readonly prefix: string,
    afterRevision: string,
    private readonly listener: KVWatchListener,
    private readonly endpoints: readonly string[],
  ) {
    this.startRevision = nextRevision(afterRevision);
    openStream().then(
      (stream) => this.attach(stream),
      (err) => this.fail(translateEtcdError(err, endpoints)),
    );
  }

  private attach(stream: WatchStream): void {
    if (this.closed) {
      // Cancelling makes the stream emit a CANCELLED error; unhandled, it would crash the process.
      stream.on("error", () => undefined);
      stream.cancel();
      return;
    }
    this.stream = stream;
    stream.on("data", (res) => this.handle(res));
    stream.on("error", (err) => this.fail(translateEtcdError(err, this.endpoints)));
    stream.on("end", () =>
      this.fail(new DatastoreUnavailableError(`etcd closed the watch stream on ${this.prefix}`)),
    );
    const key = Buffer.from(this.prefix, "utf8");
    stream.write({
      create_request: {
        key,
        range_end: prefixRangeEnd(key),
        start_revision: this.startRevision,
        prev_kv: true,
      },
    });
  }

  private handle(res: IWatchResponse): void {
    if (this.closed || this.failed) return;
    if (res.canceled) {
      this.fail(
        res.compact_revision !== "0"
          ? new RevisionCompactedError(this.startRevision)
          : new DatastoreUnavailableError(
              `etcd cancelled the watch on ${this.prefix}: ${res.cancel_reason || "no reason given"}`,
            ),
      );
      return;
    }
    for (const ev of res.events) {
      if (this.closed || this.failed) return;
      this.listener.onEvent(toEvent(ev));
    }
  }

  private fail(error: Error): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.stream?.cancel();
    this.listener.onError(error);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stream?.cancel();
  }
}
