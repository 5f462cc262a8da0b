/**
 * One client connection on the server: handshake (ClientHello → ServerHello → DecoderRestart →
 * ACK), the snapshot, then deltas and status changes walked from the cache's breadcrumbs, with
 * pings. Each connection writes at its own pace and waits for its own socket to drain, so a slow
 * client only delays itself; the server drops it when it falls too far behind.
 */
import type { Socket } from "node:net";
import type { SyncStatus } from "../datastore/index.js";
import type { Logger } from "../lib/log.js";
import { type Crumb, SnapshotCache } from "./cache.js";
import type { TyphaMetrics } from "./metrics.js";
import {
  type ClientMessage,
  COMPRESSION,
  FrameDecoder,
  frame,
  frameText,
  kvsText,
  ProtocolError,
  SYNCER_TYPES,
} from "./proto.js";

/** Client→server messages are tiny; anything bigger is not a Typha client (Calico: 1 MiB). */
const MAX_INBOUND_FRAME = 1 << 20;

export interface ConnectionSettings {
  caches: ReadonlyMap<string, SnapshotCache>;
  version: string;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  handshakeTimeoutMs: number;
  writeTimeoutMs: number;
  /** KVs per delta message. */
  maxMessageSize: number;
  metrics: TyphaMetrics;
  log: Logger;
}

class Closed extends Error {}

export class Connection {
  syncerType: string | undefined;
  hostname = "";
  /** The last crumb whose contents this client has been sent. */
  crumb: Crumb | undefined;
  snapshotDoneAt = 0;
  graceUsed = false;
  streaming = false;
  readonly closed: Promise<void>;
  #close!: () => void;
  #isClosed = false;
  #decoder = new FrameDecoder(MAX_INBOUND_FRAME);
  #waiting: { want: string; resolve: (m: ClientMessage) => void; reject: (e: Error) => void } | undefined;
  #lastPong = Date.now();
  #pingTimer: NodeJS.Timeout | undefined;
  readonly log: Logger;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly s: ConnectionSettings,
  ) {
    this.log = s.log.child({
      connID: id,
      client: `${socket.remoteAddress ?? "local"}:${socket.remotePort ?? ""}`,
    });
    this.closed = new Promise((resolve) => {
      this.#close = resolve;
    });
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (err) => this.close(`socket error: ${err.message}`, "info"));
    socket.on("close", () => this.close("connection closed by the client", "info"));
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  close(reason: string, level: "info" | "warn" = "info"): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearInterval(this.#pingTimer);
    this.log[level](
      { reason, syncerType: this.syncerType, hostname: this.hostname },
      "Closing client connection",
    );
    this.socket.destroy();
    this.#waiting?.reject(new Closed(reason));
    this.#waiting = undefined;
    this.#close();
  }

  #onData(chunk: Buffer): void {
    let msgs: unknown[];
    try {
      msgs = this.#decoder.push(chunk);
    } catch (err) {
      this.close(`protocol error: ${(err as Error).message}`, "warn");
      return;
    }
    for (const raw of msgs) {
      const msg = raw as ClientMessage;
      if (msg.type === "Pong") {
        this.#lastPong = Date.now();
        if (typeof msg.pingTimestamp === "number")
          this.s.metrics.observe(
            this.s.metrics.pingLatency,
            this.syncerType ?? "",
            (Date.now() - msg.pingTimestamp) / 1000,
          );
      } else if (this.#waiting && msg.type === this.#waiting.want) {
        const w = this.#waiting;
        this.#waiting = undefined;
        w.resolve(msg);
      } else {
        this.close(`unexpected ${msg.type} message`, "warn");
        return;
      }
    }
  }

  #expect<T extends ClientMessage["type"]>(want: T): Promise<Extract<ClientMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.#isClosed) {
        reject(new Closed("closed"));
        return;
      }
      const timer = setTimeout(
        () => this.close(`no ${want} within the handshake timeout`, "warn"),
        this.s.handshakeTimeoutMs,
      );
      this.#waiting = {
        want,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<ClientMessage, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Writes a frame, waiting for the socket to drain when its buffer is full. */
  async #write(buf: Buffer): Promise<void> {
    if (this.#isClosed) throw new Closed("closed");
    const start = performance.now();
    if (!this.socket.write(buf)) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => this.close("write timed out (client not reading)", "warn"),
          this.s.writeTimeoutMs,
        );
        const done = () => {
          clearTimeout(timer);
          this.socket.off("drain", done);
          if (this.#isClosed) reject(new Closed("closed"));
          else resolve();
        };
        this.socket.once("drain", done);
        void this.closed.then(done);
      });
    }
    this.s.metrics.observe(
      this.s.metrics.writeLatency,
      this.syncerType ?? "",
      (performance.now() - start) / 1000,
    );
  }

  async run(): Promise<void> {
    try {
      await this.#serve();
    } catch (err) {
      if (err instanceof Closed) return;
      this.close(`error: ${(err as Error).message}`, "warn");
    }
  }

  async #serve(): Promise<void> {
    const hello = await this.#expect("ClientHello");
    const syncerType = hello.syncerType || "felix";
    this.hostname = String(hello.hostname ?? "");
    if (!(SYNCER_TYPES as readonly string[]).includes(syncerType) || !this.s.caches.has(syncerType))
      throw new ProtocolError(`client asked for unknown syncer type '${syncerType}'`);
    if (!hello.supportsModernPolicyKeys)
      throw new ProtocolError("client does not support modern policy keys");
    this.syncerType = syncerType;
    const cache = this.s.caches.get(syncerType) as SnapshotCache;
    this.log.info({ hostname: this.hostname, syncerType, info: hello.info }, "Client hello received");
    await this.#write(
      frame({
        type: "ServerHello",
        version: this.s.version,
        syncerType,
        supportsNodeResourceUpdates: true,
        serverConnID: this.id,
      }),
    );
    const compress =
      hello.supportsDecoderRestart === true &&
      Array.isArray(hello.supportedCompressionAlgorithms) &&
      hello.supportedCompressionAlgorithms.includes(COMPRESSION);
    if (compress) {
      // The client swaps decoders on this message; nothing compressed may follow before its ACK.
      await this.#write(
        frame({ type: "DecoderRestart", message: "enabling compression", compressionAlgorithm: COMPRESSION }),
      );
      await this.#expect("ACK");
    }
    this.#startPings();
    const m = this.s.metrics;
    const labels = m.connectionsStreaming.labels(syncerType);
    labels.inc();
    this.streaming = true;
    try {
      const started = performance.now();
      const { snapshot, reused } = cache.snapshot(compress);
      (reused ? m.snapshotsReused : m.snapshotsGenerated).labels(syncerType).inc();
      if (!reused) {
        m.snapshotRawBytes.labels(syncerType).set(snapshot.rawBytes);
        m.snapshotCompressedBytes.labels(syncerType).set(snapshot.compressedBytes);
      }
      this.crumb = snapshot.crumb;
      for (const f of snapshot.frames) await this.#write(f);
      let status = snapshot.crumb.status;
      await this.#write(SnapshotCache.statusFrame(status));
      this.snapshotDoneAt = Date.now();
      m.snapshotSendSecs.labels(syncerType).observe((performance.now() - started) / 1000);
      this.log.info({ kvs: snapshot.kvs, seq: snapshot.crumb.seq }, "Sent snapshot");
      for (;;) {
        status = await this.#sendDeltas(cache, status);
      }
    } finally {
      labels.dec();
      this.streaming = false;
    }
  }

  /** Sends what follows the current crumb, batching up to maxMessageSize KVs. */
  async #sendDeltas(cache: SnapshotCache, lastStatus: SyncStatus): Promise<SyncStatus> {
    const m = this.s.metrics;
    const syncer = this.syncerType ?? "";
    let crumb = this.crumb as Crumb;
    if (!crumb.next) {
      m.breadcrumbBlock.labels(syncer).inc();
      const started = performance.now();
      const next = cache.next(crumb);
      await Promise.race([next, this.closed]);
      if (this.#isClosed) throw new Closed("closed");
      m.observe(m.nextBreadcrumbLatency, syncer, (performance.now() - started) / 1000);
    } else {
      m.breadcrumbNonBlock.labels(syncer).inc();
    }
    const batch: Crumb[] = [];
    let kvs = 0;
    let status = lastStatus;
    while (crumb.next) {
      const next: Crumb = crumb.next;
      if (batch.length > 0 && kvs + next.deltas.length > this.s.maxMessageSize) break;
      batch.push(next);
      kvs += next.deltas.length;
      crumb = next;
      if (next.status !== status) break;
    }
    if (kvs > 0) {
      const only = batch.length === 1 ? batch[0] : undefined;
      const buf = only
        ? (SnapshotCache.crumbFrame(only) as Buffer)
        : frameText(kvsText(batch.flatMap((c) => c.deltas)));
      await this.#write(buf);
      m.observe(m.kvsPerMsg, syncer, kvs);
    }
    const now = Date.now();
    for (const c of batch) if (c.deltas.length > 0) m.observe(m.clientLatency, syncer, (now - c.time) / 1000);
    this.crumb = crumb;
    if (crumb.status !== status) {
      status = crumb.status;
      await this.#write(SnapshotCache.statusFrame(crumb.status));
    }
    return status;
  }

  #startPings(): void {
    this.#lastPong = Date.now();
    this.#pingTimer = setInterval(() => {
      if (Date.now() - this.#lastPong > this.s.pongTimeoutMs) {
        this.close(`no pong for ${this.s.pongTimeoutMs / 1000} s`, "warn");
        return;
      }
      // Pings go straight onto the socket between frames; a full buffer only delays them.
      this.socket.write(frame({ type: "Ping", timestamp: Date.now() }));
    }, this.s.pingIntervalMs);
  }
}
