/**
 * Typha's sync server: accepts clients (plain TCP, or mutual TLS when configured), runs one
 * Connection per client, and governs the set: at most one connection dropped per drop interval
 * while over the connection target (so clients move to another Typha gradually), clients that
 * fall too far behind the newest breadcrumb dropped, and a graceful shutdown that sheds
 * connections over the shutdown timeout.
 */
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { Logger } from "../lib/log.js";
import type { SnapshotCache } from "./cache.js";
import { Connection } from "./connection.js";
import type { TyphaMetrics } from "./metrics.js";
import { certificateMismatch } from "./tls.js";

export interface ServerTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  clientCN: string;
  clientURISAN: string;
}

export interface SyncServerOptions {
  caches: ReadonlyMap<string, SnapshotCache>;
  metrics: TyphaMetrics;
  log: Logger;
  version: string;
  host?: string;
  port: number;
  tls?: ServerTls;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  writeTimeoutMs?: number;
  maxFallBehindMs?: number;
  newClientGraceMs?: number;
  maxMessageSize?: number;
  dropIntervalMs?: number;
  maxConns?: number;
}

export const SERVER_DEFAULTS = {
  pingIntervalMs: 10_000,
  pongTimeoutMs: 60_000,
  handshakeTimeoutMs: 10_000,
  writeTimeoutMs: 120_000,
  maxFallBehindMs: 300_000,
  newClientGraceMs: 300_000,
  maxMessageSize: 100,
  dropIntervalMs: 1_000,
};

/** Calico forces the pong timeout to at least twice the ping interval (else six pings). */
function pongTimeout(ping: number, pong: number): number {
  return pong < 2 * ping ? 6 * ping : pong;
}

export class SyncServer {
  readonly #server: Server;
  readonly #conns = new Map<number, Connection>();
  readonly #o: Required<Omit<SyncServerOptions, "tls" | "host" | "maxConns">> &
    Pick<SyncServerOptions, "tls" | "host">;
  #nextID = 1;
  #maxConns: number;
  #governor: NodeJS.Timeout | undefined;
  #port = 0;
  #shuttingDown = false;

  constructor(opts: SyncServerOptions) {
    this.#o = { ...SERVER_DEFAULTS, ...opts };
    this.#o.pongTimeoutMs = pongTimeout(this.#o.pingIntervalMs, this.#o.pongTimeoutMs);
    this.#maxConns = opts.maxConns ?? Number.MAX_SAFE_INTEGER;
    const tls = opts.tls;
    if (tls) {
      const server = createTlsServer({
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.2",
      });
      server.on("secureConnection", (socket: TLSSocket) => {
        const why = certificateMismatch(socket.getPeerCertificate(), tls.clientCN, tls.clientURISAN);
        if (why) {
          this.#o.log.warn(
            { client: socket.remoteAddress, reason: why },
            "Refused client: certificate does not match",
          );
          socket.destroy();
          return;
        }
        this.#accept(socket);
      });
      server.on("tlsClientError", (err, socket) => {
        this.#o.log.warn(
          { client: socket.remoteAddress, err: err.message },
          "Refused client: TLS handshake failed (no or untrusted certificate, or not speaking TLS)",
        );
      });
      this.#server = server;
    } else {
      this.#server = createServer((socket) => this.#accept(socket));
    }
  }

  get port(): number {
    return this.#port;
  }

  get connections(): readonly Connection[] {
    return [...this.#conns.values()];
  }

  get maxConns(): number {
    return this.#maxConns;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#o.port, this.#o.host || undefined, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    const addr = this.#server.address();
    this.#port = typeof addr === "object" && addr ? addr.port : 0;
    this.#o.log.info({ port: this.#port, tls: Boolean(this.#o.tls) }, "Typha listening");
    this.#governor = setInterval(() => this.#govern(), this.#o.dropIntervalMs);
  }

  /** The connection target (from rebalancing); excess connections are shed one per interval. */
  setMaxConns(n: number): void {
    if (n !== this.#maxConns) this.#o.log.info({ oldMax: this.#maxConns, newMax: n }, "New connection limit");
    this.#maxConns = n;
  }

  #accept(socket: Socket): void {
    if (this.#shuttingDown) {
      socket.destroy();
      return;
    }
    const id = this.#nextID++;
    const conn = new Connection(id, socket, {
      caches: this.#o.caches,
      version: this.#o.version,
      pingIntervalMs: this.#o.pingIntervalMs,
      pongTimeoutMs: this.#o.pongTimeoutMs,
      handshakeTimeoutMs: this.#o.handshakeTimeoutMs,
      writeTimeoutMs: this.#o.writeTimeoutMs,
      maxMessageSize: this.#o.maxMessageSize,
      metrics: this.#o.metrics,
      log: this.#o.log,
    });
    this.#conns.set(id, conn);
    this.#o.metrics.connectionsAccepted.inc();
    this.#o.metrics.connectionsActive.set(this.#conns.size);
    void conn.closed.then(() => {
      this.#conns.delete(id);
      this.#o.metrics.connectionsActive.set(this.#conns.size);
    });
    void conn.run();
  }

  #open(): number {
    let n = 0;
    for (const c of this.#conns.values()) if (!c.isClosed) n++;
    return n;
  }

  #dropRandom(reason: string): boolean {
    const all = [...this.#conns.values()].filter((c) => !c.isClosed);
    const victim = all[Math.floor(Math.random() * all.length)];
    if (!victim) return false;
    victim.close(reason);
    return true;
  }

  #govern(): void {
    if (this.#shuttingDown) return;
    if (this.#conns.size > this.#maxConns && this.#dropRandom("re-balance load with other Typha instances"))
      this.#o.metrics.connectionsDropped.inc();
    const now = Date.now();
    for (const c of this.#conns.values()) {
      const behind = c.crumb?.next;
      if (!c.streaming || !behind || now - behind.time <= this.#o.maxFallBehindMs) continue;
      if (now - c.snapshotDoneAt < this.#o.newClientGraceMs || c.snapshotDoneAt === 0) {
        if (!c.graceUsed) {
          c.graceUsed = true;
          this.#o.metrics.graceUsed.labels(c.syncerType ?? "").inc();
        }
        continue;
      }
      c.close(`client fell more than ${this.#o.maxFallBehindMs / 1000} s behind`, "warn");
    }
  }

  /**
   * Stops accepting, then closes connections one at a time spread over ~95 % of `timeoutMs`
   * (at most `maxIntervalMs` apart) so clients reconnect elsewhere without a stampede.
   */
  async shutdown(timeoutMs: number, maxIntervalMs: number): Promise<void> {
    this.#shuttingDown = true;
    clearInterval(this.#governor);
    const listening = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const n = this.#conns.size;
    if (n > 0) {
      const interval = Math.min(maxIntervalMs, (timeoutMs * 0.95) / n);
      this.#o.log.info({ connections: n, intervalMs: interval }, "Graceful shutdown: shedding connections");
      while (this.#dropRandom("graceful shutdown in progress") && this.#open() > 0)
        await new Promise((r) => setTimeout(r, interval));
    }
    await listening;
  }

  /** Immediate stop (tests, fatal errors). */
  async close(): Promise<void> {
    this.#shuttingDown = true;
    clearInterval(this.#governor);
    for (const c of this.#conns.values()) c.close("server stopping");
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
