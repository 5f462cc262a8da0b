/**
 * HTTP to etcd's v3 JSON gateway (the grpc-gateway every etcd ≥ 3.3 serves on its client port):
 * keep-alive connections over TCP, TLS or a unix socket; failover to the next endpoint when one
 * cannot be reached; password auth through a token from /v3/auth/authenticate, renewed when etcd
 * says it expired. Node's own http module is the whole client, which is what makes this cheap to
 * load in a short-lived process.
 */
import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from "node:http";
import { DatastoreUnavailableError } from "../errors.js";
import { unavailable } from "../etcd-failures.js";
import { DEFAULT_REQUEST_TIMEOUT_MS, type EtcdKVOptions, loadTLSMaterial } from "../etcd-settings.js";
import { GatewayError } from "./codec.js";

interface Endpoint {
  url: string;
  secure: boolean;
  /** TCP target, or a unix socket path. */
  host?: string;
  port?: number;
  socketPath?: string;
}

/** `http(s)://host:port` or `unix:///path` (etcd's own spellings of a client URL). */
export function parseEndpoint(url: string): Endpoint {
  if (url.startsWith("unix://") || url.startsWith("unixs://")) {
    const secure = url.startsWith("unixs://");
    const path = url.slice(secure ? "unixs://".length : "unix://".length);
    if (path === "") throw new DatastoreUnavailableError(`invalid etcd endpoint '${url}': no socket path`);
    return { url, secure, socketPath: path };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatastoreUnavailableError(`invalid etcd endpoint '${url}'`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new DatastoreUnavailableError(`invalid etcd endpoint '${url}': expected http, https or unix`);
  }
  const secure = parsed.protocol === "https:";
  return {
    url,
    secure,
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: parsed.port ? Number(parsed.port) : secure ? 443 : 80,
  };
}

/** Errors that mean "this endpoint is not answering": the next one may. */
/** A JSON POST of `body` to `path` on one endpoint, over TCP or its unix socket. */
function postOptions(
  endpoint: Endpoint,
  agent: Agent,
  path: string,
  body: string,
  headers: Record<string, string>,
): RequestOptions {
  return {
    method: "POST",
    path,
    agent,
    ...(endpoint.socketPath
      ? { socketPath: endpoint.socketPath }
      : { host: endpoint.host, port: endpoint.port }),
    headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers },
  };
}

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOENT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

class TimeoutError extends Error {
  code = "ETIMEDOUT";
}

interface Modules {
  request: (opts: RequestOptions, cb: (res: IncomingMessage) => void) => ClientRequest;
  agent: Agent;
}

export class GatewayTransport {
  readonly endpoints: readonly string[];
  private readonly parsed: Endpoint[];
  private readonly timeoutMs: number;
  /** The endpoint that answered last; requests start there. */
  private current = 0;
  private modules: Promise<Modules> | undefined;
  private token: Promise<string> | undefined;
  private closed = false;
  private readonly streams = new Set<ClientRequest>();

  constructor(private readonly opts: EtcdKVOptions) {
    if (opts.endpoints.length === 0) throw new DatastoreUnavailableError("no etcd endpoints configured");
    this.endpoints = [...opts.endpoints];
    this.parsed = opts.endpoints.map(parseEndpoint);
    if (new Set(this.parsed.map((e) => e.secure)).size > 1) {
      throw new DatastoreUnavailableError("etcd endpoints must be all http or all https");
    }
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    // Read (and check) the TLS files now, as the gRPC client does, so a bad path fails at once.
    if (this.parsed[0]!.secure || opts.tls) loadTLSMaterial(opts.tls);
  }

  /** http or https (which pulls in tls), loaded on first use and only the one needed. */
  private load(): Promise<Modules> {
    this.modules ??= (async () => {
      if (!this.parsed[0]!.secure) {
        const http = await import("node:http");
        return { request: http.request, agent: new http.Agent({ keepAlive: true }) };
      }
      const https = await import("node:https");
      const tls = loadTLSMaterial(this.opts.tls);
      const agent = new https.Agent({
        keepAlive: true,
        ...(tls?.ca ? { ca: tls.ca } : {}),
        ...(tls?.cert ? { cert: tls.cert, key: tls.key } : {}),
      });
      return { request: https.request, agent };
    })();
    return this.modules;
  }

  private async send(
    endpoint: Endpoint,
    path: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; text: string }> {
    const { request, agent } = await this.load();
    return new Promise((resolve, reject) => {
      const req = request(postOptions(endpoint, agent, path, body, headers), (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      });
      const timer = setTimeout(
        () => req.destroy(new TimeoutError(`no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      req.on("close", () => clearTimeout(timer));
      req.on("error", reject);
      req.end(body);
    });
  }

  /** One request, to each endpoint in turn until one answers; etcd's errors become GatewayError. */
  private async roundTrip(path: string, body: unknown, headers: Record<string, string>): Promise<unknown> {
    if (this.closed) throw new DatastoreUnavailableError("etcd client is closed");
    const text = JSON.stringify(body);
    let lastError: Error | undefined;
    for (let i = 0; i < this.parsed.length; i++) {
      const index = (this.current + i) % this.parsed.length;
      let res: { status: number; text: string };
      try {
        res = await this.send(this.parsed[index]!, path, text, headers);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        lastError = err as Error;
        if (code && (CONNECT_CODES.has(code) || code.startsWith("ERR_TLS") || code.includes("CERT")))
          continue;
        if (err instanceof Error && /socket hang up|certificate|handshake|SSL/i.test(err.message)) continue;
        throw unavailable(this.endpoints, (err as Error).message);
      }
      this.current = index;
      let parsed: unknown;
      try {
        parsed = res.text === "" ? {} : JSON.parse(res.text);
      } catch {
        throw unavailable(this.endpoints, `etcd answered ${path} with HTTP ${res.status} and no JSON`);
      }
      if (res.status !== 200) throw GatewayError.from(parsed, res.status);
      return parsed;
    }
    throw unavailable(this.endpoints, lastError?.message ?? "no endpoint answered");
  }

  private authenticate(): Promise<string> {
    this.token ??= (async () => {
      const res = (await this.roundTrip(
        "/v3/auth/authenticate",
        { name: this.opts.username, password: this.opts.password },
        {},
      )) as { token?: string };
      if (!res.token) throw unavailable(this.endpoints, "etcd returned no auth token");
      return res.token;
    })();
    // A failed attempt is not cached: the next call tries again.
    this.token.catch(() => {
      this.token = undefined;
    });
    return this.token;
  }

  private get usesAuth(): boolean {
    return Boolean(this.opts.username && this.opts.password);
  }

  private async authHeaders(): Promise<Record<string, string>> {
    return this.usesAuth ? { authorization: await this.authenticate() } : {};
  }

  /** POSTs a JSON request to a gateway path and returns its JSON answer. */
  async call(path: string, body: unknown): Promise<unknown> {
    try {
      return await this.roundTrip(path, body, await this.authHeaders());
    } catch (err) {
      // Simple tokens expire (5 min by default); a long-lived client fetches a fresh one once.
      if (!(err instanceof GatewayError) || !this.usesAuth || !/invalid auth token/.test(err.message))
        throw err;
      this.token = undefined;
      return await this.roundTrip(path, body, await this.authHeaders());
    }
  }

  /**
   * A streaming POST (the watch): `onLine` gets each JSON object etcd sends; `onEnd` fires once
   * when the stream ends or fails. Returns a function that aborts it.
   */
  async stream(
    path: string,
    body: unknown,
    onLine: (message: unknown) => void,
    onEnd: (error: Error) => void,
  ): Promise<() => void> {
    const { request, agent } = await this.load();
    const headers = { ...(await this.authHeaders()), "grpc-metadata-hasleader": "true" };
    const endpoint = this.parsed[this.current]!;
    const text = JSON.stringify(body);
    let ended = false;
    const end = (error: Error) => {
      if (ended) return;
      ended = true;
      onEnd(error);
    };
    const req = request(postOptions(endpoint, agent, path, text, headers), (res) => {
      let buffered = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === "" || ended) continue;
          try {
            onLine(JSON.parse(line));
          } catch (err) {
            end(err as Error);
            req.destroy();
          }
        }
      });
      res.on("end", () => {
        const rest = buffered.trim();
        if (rest !== "" && !ended) {
          try {
            onLine(JSON.parse(rest));
          } catch {
            // a truncated last message is reported by the end below
          }
        }
        end(new DatastoreUnavailableError(`etcd closed the watch stream (HTTP ${res.statusCode})`));
      });
      res.on("error", (err) => end(unavailable(this.endpoints, err.message)));
    });
    this.streams.add(req);
    req.on("close", () => this.streams.delete(req));
    req.on("error", (err) => end(unavailable(this.endpoints, err.message)));
    req.end(text);
    return () => {
      ended = true;
      req.destroy();
    };
  }

  close(): void {
    this.closed = true;
    for (const req of this.streams) req.destroy();
    this.streams.clear();
    void this.modules?.then(
      (m) => m.agent.destroy(),
      () => undefined,
    );
  }
}
