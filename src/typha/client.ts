/**
 * The Typha sync client: the same start/stop and callbacks as the datastore Syncer, fed by a
 * Typha instead of etcd, so Felix and confd can use either. It tries the given addresses in turn
 * (never the same one twice in a row while others exist), and after a connection is lost it
 * reconnects and resyncs without disturbing its consumer: keys re-sent unchanged are swallowed,
 * changed ones pass as updates, and only once the new stream is in sync are deletions emitted for
 * keys that were not re-sent. While disconnected nothing at all is delivered, so the consumer
 * (and the dataplane behind it) keeps its state.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { SyncerCallbacks, SyncStatus, SyncUpdate } from "../datastore/index.js";
import { type Logger, silentLogger } from "../lib/log.js";
import { packageVersion } from "../lib/version.js";
import {
  COMPRESSION,
  DEFAULT_PORT,
  deserializeUpdate,
  FrameDecoder,
  frame,
  ProtocolError,
  type SerializedUpdate,
  type ServerMessage,
  STATUS_BY_CODE,
  type SyncerType,
} from "./proto.js";
import { certificateMismatch } from "./tls.js";

/** Frames from the server can carry a 1000-KV snapshot chunk; this bounds a hostile one. */
const MAX_SERVER_FRAME = 256 << 20;

export interface ClientTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  serverCN: string;
  serverURISAN: string;
}

export interface TyphaClientOptions {
  /** `host:port` (port defaults to 5473); tried in turn. */
  addresses: readonly string[];
  syncerType: SyncerType;
  hostname: string;
  info?: string;
  tls?: ClientTls;
  /** TyphaReadTimeout: no message (pings come every 10 s) for this long ends the connection. */
  readTimeoutMs?: number;
  /** TyphaWriteTimeout. */
  writeTimeoutMs?: number;
  dialTimeoutMs?: number;
  retryPauseMs?: number;
  /** Start of day: with no Typha reached for this long, give up (onFatal). Calico: 30 s. */
  startupTimeoutMs?: number;
  log?: Logger;
  /** Start-of-day failure: no Typha could be reached in time. */
  onFatal?(error: Error): void;
  /** A connection's handshake completed. */
  onConnected?(address: string): void;
}

interface Held {
  source: string;
  value: unknown;
  revision: string;
}

export function parseAddress(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  const port = m?.[2] ? Number(m[2]) : DEFAULT_PORT;
  if (!m?.[1] || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new ProtocolError(`invalid Typha address '${address}': expected host:port`);
  return { host: m[1], port };
}

const TLS_HINT = "set TyphaCAFile, TyphaCertFile, TyphaKeyFile and TyphaCN or TyphaURISAN";

export class TyphaSyncClient {
  readonly #o: TyphaClientOptions;
  readonly #log: Logger;
  readonly #live = new Map<string, Held>();
  #status: SyncStatus | undefined;
  #socket: Socket | undefined;
  #next = 0;
  #everConnected = false;
  #stopped = false;
  #started = false;
  #lastError: Error | undefined;
  #current: string | undefined;
  #connections = 0;

  constructor(
    opts: TyphaClientOptions,
    private readonly callbacks: SyncerCallbacks,
  ) {
    if (opts.addresses.length === 0) throw new ProtocolError("no Typha address given");
    for (const a of opts.addresses) parseAddress(a);
    this.#o = opts;
    this.#log = opts.log ?? silentLogger();
  }

  /** The Typha this client is connected to, if any. */
  get address(): string | undefined {
    return this.#current;
  }

  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Successful handshakes so far. */
  get connections(): number {
    return this.#connections;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#setStatus("WaitForDatastore");
    void this.#loop();
  }

  #setStatus(status: SyncStatus): void {
    if (status === this.#status || this.#stopped) return;
    this.#status = status;
    this.callbacks.onStatus(status);
  }

  async #loop(): Promise<void> {
    const startedAt = Date.now();
    const startup = this.#o.startupTimeoutMs ?? 30_000;
    while (!this.#stopped) {
      const address = this.#o.addresses[this.#next % this.#o.addresses.length] as string;
      this.#next++;
      try {
        await this.#session(address);
      } catch (err) {
        this.#lastError = err as Error;
        if (this.#stopped) return;
        this.#log.warn({ address, err: (err as Error).message }, "Typha connection failed or lost");
      }
      this.#current = undefined;
      if (this.#stopped) return;
      if (!this.#everConnected && Date.now() - startedAt > startup) {
        const err = new ProtocolError(
          `could not connect to any Typha (${this.#o.addresses.join(", ")}) within ${startup / 1000} s: ${this.#lastError?.message ?? "no answer"}`,
        );
        this.#log.error({ err: err.message }, "Giving up on Typha");
        this.#o.onFatal?.(err);
        return;
      }
      if (this.#everConnected) this.#setStatus("WaitForDatastore");
      await new Promise((r) => setTimeout(r, this.#o.retryPauseMs ?? 100));
    }
  }

  #dial(address: string): Socket {
    const { host, port } = parseAddress(address);
    const tls = this.#o.tls;
    if (!tls) return netConnect({ host, port });
    return tlsConnect({
      host,
      port,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      minVersion: "TLSv1.2",
      // Typha is addressed by IP; the identity check is its CN / URI SAN, as in Calico.
      checkServerIdentity: (_host, cert) => {
        const why = certificateMismatch(cert, tls.serverCN, tls.serverURISAN);
        return why ? new Error(`Typha at ${address}: ${why}`) : undefined;
      },
    });
  }

  /** One connection, from dial to loss. Resolves or rejects when it ends. */
  #session(address: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = this.#dial(address);
      this.#socket = socket;
      const decoder = new FrameDecoder(MAX_SERVER_FRAME);
      const tlsMode = Boolean(this.#o.tls);
      let phase: "dial" | "hello" | "stream" = "dial";
      let ended = false;
      let resync: Set<string> | undefined;
      let readTimer: NodeJS.Timeout | undefined;
      const dialTimer = setTimeout(
        () =>
          fail(
            new ProtocolError(
              `no connection to Typha at ${address} within ${(this.#o.dialTimeoutMs ?? 10_000) / 1000} s`,
            ),
          ),
        this.#o.dialTimeoutMs ?? 10_000,
      );
      // Re-armed on every chunk; refresh() avoids allocating a timer per message.
      const armRead = () => {
        if (readTimer) {
          readTimer.refresh();
          return;
        }
        readTimer = setTimeout(
          () =>
            fail(
              new ProtocolError(
                `nothing from Typha at ${address} for ${(this.#o.readTimeoutMs ?? 30_000) / 1000} s`,
              ),
            ),
          this.#o.readTimeoutMs ?? 30_000,
        );
      };
      const finish = (err?: Error) => {
        if (ended) return;
        ended = true;
        clearTimeout(dialTimer);
        clearTimeout(readTimer);
        socket.destroy();
        if (this.#socket === socket) this.#socket = undefined;
        if (err) reject(err);
        else resolve();
      };
      const fail = (err: Error) => finish(err);
      const send = (msg: Parameters<typeof frame>[0]) => {
        if (!socket.write(frame(msg))) {
          const timer = setTimeout(
            () => fail(new ProtocolError(`write to Typha at ${address} timed out`)),
            this.#o.writeTimeoutMs ?? 10_000,
          );
          socket.once("drain", () => clearTimeout(timer));
        }
      };

      socket.once(tlsMode ? "secureConnect" : "connect", () => {
        clearTimeout(dialTimer);
        phase = "hello";
        socket.setNoDelay(true);
        armRead();
        send({
          type: "ClientHello",
          hostname: this.#o.hostname,
          info: this.#o.info ?? "",
          version: packageVersion(),
          syncerType: this.#o.syncerType,
          supportsDecoderRestart: true,
          supportedCompressionAlgorithms: [COMPRESSION],
          supportsModernPolicyKeys: true,
          clientConnID: this.#connections + 1,
        });
      });
      socket.on("error", (err) => {
        if (tlsMode && phase === "dial")
          fail(
            new ProtocolError(
              `TLS handshake with Typha at ${address} failed: ${err.message} (is that Typha configured for TLS, with a certificate this client trusts?)`,
            ),
          );
        else fail(new ProtocolError(`Typha at ${address}: ${err.message}`));
      });
      socket.on("close", () => {
        if (phase === "hello" && !tlsMode)
          fail(
            new ProtocolError(
              `Typha at ${address} closed the connection during the handshake (if it requires TLS, ${TLS_HINT})`,
            ),
          );
        else if (phase === "dial" && tlsMode)
          fail(
            new ProtocolError(
              `TLS handshake with Typha at ${address} failed: connection closed (is that Typha configured for TLS?)`,
            ),
          );
        else fail(new ProtocolError(`Typha at ${address} closed the connection`));
      });
      socket.on("data", (chunk: Buffer) => {
        armRead();
        let msgs: unknown[];
        try {
          msgs = decoder.push(chunk);
        } catch (err) {
          const msg = (err as Error).message;
          fail(
            new ProtocolError(
              /speaking TLS/.test(msg)
                ? `Typha at ${address} requires TLS: ${TLS_HINT}`
                : `Typha at ${address}: ${msg}`,
            ),
          );
          return;
        }
        try {
          for (const raw of msgs) {
            if (ended) return;
            const msg = raw as ServerMessage;
            if (phase === "hello") {
              if (msg.type !== "ServerHello")
                throw new ProtocolError(`expected ServerHello, got ${msg.type}`);
              if (msg.syncerType !== this.#o.syncerType)
                throw new ProtocolError(`Typha offered syncer ${msg.syncerType}, not ${this.#o.syncerType}`);
              if (!msg.supportsNodeResourceUpdates)
                throw new ProtocolError("Typha does not support node resource updates");
              phase = "stream";
              this.#connections++;
              this.#current = address;
              if (this.#everConnected) resync = new Set();
              this.#everConnected = true;
              this.#log.info({ address, serverConnID: msg.serverConnID }, "Connected to Typha");
              this.#o.onConnected?.(address);
              continue;
            }
            switch (msg.type) {
              case "DecoderRestart":
                if (msg.compressionAlgorithm && msg.compressionAlgorithm !== COMPRESSION)
                  throw new ProtocolError(`Typha asked for unknown compression ${msg.compressionAlgorithm}`);
                decoder.allowCompression();
                send({ type: "ACK" });
                break;
              case "Ping":
                send({ type: "Pong", pingTimestamp: msg.timestamp, pongTimestamp: Date.now() });
                break;
              case "KVs":
                this.#onKVs(msg.kvs, resync);
                break;
              case "SyncStatus": {
                const status = STATUS_BY_CODE[msg.syncStatus];
                if (!status) throw new ProtocolError(`unknown sync status ${msg.syncStatus}`);
                if (status === "InSync" && resync) {
                  this.#finishResync(resync);
                  resync = undefined;
                }
                // A snapshot is a resync for the consumer even when Typha itself is in sync.
                if (status === "InSync" && this.#status === "WaitForDatastore")
                  this.#setStatus("ResyncInProgress");
                this.#setStatus(status);
                break;
              }
              default:
                throw new ProtocolError(`unexpected message ${(msg as { type: string }).type}`);
            }
          }
        } catch (err) {
          fail(err as Error);
        }
      });
    });
  }

  #onKVs(kvs: SerializedUpdate[], resync: Set<string> | undefined): void {
    const out: SyncUpdate[] = [];
    for (const kv of kvs) {
      let u: ReturnType<typeof deserializeUpdate>;
      try {
        u = deserializeUpdate(kv);
      } catch (err) {
        this.callbacks.onError?.("typha", err as Error);
        continue;
      }
      resync?.add(u.key);
      const old = this.#live.get(u.key);
      if (u.type === "deleted") {
        if (!old) continue;
        this.#live.delete(u.key);
        out.push({ ...u, source: old.source });
        continue;
      }
      // After a reconnect most of the snapshot is what the consumer already has.
      if (resync && old && old.source === u.source && JSON.stringify(old.value) === JSON.stringify(u.value))
        continue;
      this.#live.set(u.key, { source: u.source, value: u.value, revision: u.revision });
      out.push({ ...u, type: old ? "updated" : "new" });
    }
    if (out.length > 0 && !this.#stopped) this.callbacks.onUpdates(out);
  }

  /** The new stream is complete: whatever it did not mention is gone. */
  #finishResync(seen: Set<string>): void {
    const out: SyncUpdate[] = [];
    for (const [key, held] of this.#live) {
      if (seen.has(key)) continue;
      this.#live.delete(key);
      out.push({ source: held.source, key, type: "deleted", value: null, revision: held.revision });
    }
    if (out.length > 0) {
      this.#log.info({ deleted: out.length }, "Resync after reconnect removed keys that are gone");
      this.callbacks.onUpdates(out);
    }
  }

  /** Disconnects and, like the Syncer, emits deletes for everything it had delivered. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    const deletes: SyncUpdate[] = [...this.#live].map(([key, h]) => ({
      source: h.source,
      key,
      type: "deleted",
      value: null,
      revision: h.revision,
    }));
    this.#live.clear();
    this.#stopped = true;
    this.#socket?.destroy();
    if (deletes.length > 0) this.callbacks.onUpdates(deletes);
  }
}
