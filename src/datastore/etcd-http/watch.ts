/**
 * One prefix watch on its own streaming POST to /v3/watch. Like the gRPC EtcdWatch it never
 * reconnects behind the caller's back: compaction, cancellation or a lost stream end it with
 * onError, and the caller decides whether to re-watch or re-list.
 */
import { DatastoreUnavailableError, RevisionCompactedError } from "../errors.js";
import type { KVWatch, KVWatchEvent, KVWatchListener } from "../kv.js";
import { nextRevision } from "../revision.js";
import { toKeyValue, translateGatewayError, type WireKeyValue } from "./codec.js";
import type { GatewayTransport } from "./transport.js";

interface WireEvent {
  /** Absent for PUT (proto3 omits the default). */
  type?: "PUT" | "DELETE";
  kv?: WireKeyValue;
  prev_kv?: WireKeyValue;
}

interface WatchMessage {
  result?: {
    canceled?: boolean;
    compact_revision?: string;
    cancel_reason?: string;
    events?: WireEvent[];
  };
  error?: { message?: string; grpc_code?: number; http_code?: number };
}

function toEvent(ev: WireEvent): KVWatchEvent {
  const prev = ev.prev_kv ? toKeyValue(ev.prev_kv) : undefined;
  const kv = toKeyValue(ev.kv ?? {});
  if (ev.type === "DELETE") {
    // A tombstone's mod_revision is the revision of the delete.
    const base = { type: "delete" as const, key: kv.key, revision: kv.modRevision };
    return prev ? { ...base, prev } : base;
  }
  return prev ? { type: "put", kv, prev } : { type: "put", kv };
}

export class HttpWatch implements KVWatch {
  private abort: (() => void) | undefined;
  private closed = false;
  private failed = false;
  private readonly startRevision: string;

  constructor(
    transport: GatewayTransport,
    range: { key: string; range_end: string },
    private readonly prefix: string,
    afterRevision: string,
    private readonly listener: KVWatchListener,
  ) {
    this.startRevision = nextRevision(afterRevision);
    const request = { create_request: { ...range, start_revision: this.startRevision, prev_kv: true } };
    transport
      .stream(
        "/v3/watch",
        request,
        (message) => this.handle(message as WatchMessage),
        (error) => this.fail(error),
      )
      .then(
        (abort) => {
          if (this.closed) abort();
          else this.abort = abort;
        },
        (err) => this.fail(translateGatewayError(err, transport.endpoints)),
      );
  }

  private handle(message: WatchMessage): void {
    if (this.closed || this.failed) return;
    if (message.error) {
      this.fail(
        new DatastoreUnavailableError(
          `etcd ended the watch on ${this.prefix}: ${message.error.message ?? "unknown error"}`,
        ),
      );
      return;
    }
    const res = message.result;
    if (!res) return;
    if (res.canceled) {
      this.fail(
        res.compact_revision && res.compact_revision !== "0"
          ? new RevisionCompactedError(this.startRevision)
          : new DatastoreUnavailableError(
              `etcd cancelled the watch on ${this.prefix}: ${res.cancel_reason || "no reason given"}`,
            ),
      );
      return;
    }
    for (const ev of res.events ?? []) {
      if (this.closed || this.failed) return;
      this.listener.onEvent(toEvent(ev));
    }
  }

  private fail(error: Error): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.abort?.();
    this.listener.onError(error);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort?.();
  }
}
