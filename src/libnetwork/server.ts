/**
 * The plugin's HTTP side: one unix socket per driver in Docker's plugin directory
 * (`calico.sock` → NetworkDriver, `calico-ipam.sock` → IpamDriver, as Calico named them). Every
 * call is `POST /<Interface>.<Method>` with a JSON body; failures are HTTP 500 with `{"Err"}`,
 * the one error form Docker reads for both interfaces. Unknown methods get 404, which Docker
 * takes as "not implemented".
 */
import { mkdirSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { readAll } from "../lib/stream.js";
import type { IpamDriver } from "./ipam-driver.js";
import type { NetworkDriver } from "./network-driver.js";
import { CONTENT_TYPE, DriverError, IPAM_DRIVER, NETWORK_DRIVER } from "./protocol.js";

type Handler = (body: Record<string, unknown>) => unknown;

export interface ServerLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const NETWORK_SOCKET = "calico.sock";
export const IPAM_SOCKET = "calico-ipam.sock";

// Request bodies are whatever Docker sent; each driver method checks the fields it uses.
// biome-ignore lint/suspicious/noExplicitAny: the protocol's request types are checked by the drivers.
type AnyBody = any;

export function networkRoutes(d: NetworkDriver): Record<string, Handler> {
  const empty = () => ({});
  return {
    "Plugin.Activate": () => ({ Implements: [NETWORK_DRIVER] }),
    "NetworkDriver.GetCapabilities": () => d.capabilities(),
    "NetworkDriver.CreateNetwork": (b: AnyBody) => d.createNetwork(b),
    "NetworkDriver.DeleteNetwork": (b: AnyBody) => d.deleteNetwork(b),
    "NetworkDriver.CreateEndpoint": (b: AnyBody) => d.createEndpoint(b),
    "NetworkDriver.DeleteEndpoint": (b: AnyBody) => d.deleteEndpoint(b),
    "NetworkDriver.EndpointOperInfo": () => ({ Value: {} }),
    "NetworkDriver.Join": (b: AnyBody) => d.join(b),
    "NetworkDriver.Leave": (b: AnyBody) => d.leave(b),
    "NetworkDriver.DiscoverNew": empty,
    "NetworkDriver.DiscoverDelete": empty,
    "NetworkDriver.ProgramExternalConnectivity": empty,
    "NetworkDriver.RevokeExternalConnectivity": empty,
  };
}

export function ipamRoutes(d: IpamDriver): Record<string, Handler> {
  return {
    "Plugin.Activate": () => ({ Implements: [IPAM_DRIVER] }),
    "IpamDriver.GetCapabilities": () => d.capabilities(),
    "IpamDriver.GetDefaultAddressSpaces": () => d.defaultAddressSpaces(),
    "IpamDriver.RequestPool": (b: AnyBody) => d.requestPool(b),
    "IpamDriver.ReleasePool": () => d.releasePool(),
    "IpamDriver.RequestAddress": (b: AnyBody) => d.requestAddress(b),
    "IpamDriver.ReleaseAddress": (b: AnyBody) => d.releaseAddress(b),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": CONTENT_TYPE, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DriverError(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw new DriverError("request body must be a JSON object");
  return parsed as Record<string, unknown>;
}

/** Any HTTP method is accepted, as Calico's plugin did (its README checks health with GET). */
function handler(routes: Record<string, Handler>, log: ServerLog) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.url ?? "/").split("?")[0]?.slice(1) ?? "";
    const route = Object.hasOwn(routes, method) ? routes[method] : undefined;
    let text = "";
    try {
      text = (await readAll(req)).toString();
      if (!route) {
        reply(res, 404, { Err: `${method} is not implemented` });
        return;
      }
      const body = parseBody(text);
      log.debug({ method, body }, "request");
      const out = await route(body);
      log.debug({ method, response: out }, "response");
      reply(res, 200, out);
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof DriverError) log.warn({ method, body: text, error: message }, "request refused");
      else log.error({ method, body: text, error: message, stack: (err as Error).stack }, "request failed");
      reply(res, 500, { Err: message });
    }
  };
}

async function listenUnix(server: Server, path: string): Promise<void> {
  // A socket file left by an earlier run would make listen fail with EADDRINUSE.
  rmSync(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

export interface PluginServer {
  sockets: string[];
  close(): Promise<void>;
}

export async function startServer(
  pluginDir: string,
  network: Record<string, Handler>,
  ipam: Record<string, Handler>,
  log: ServerLog,
): Promise<PluginServer> {
  mkdirSync(pluginDir, { recursive: true });
  const pairs: Array<[string, Record<string, Handler>]> = [
    [join(pluginDir, NETWORK_SOCKET), network],
    [join(pluginDir, IPAM_SOCKET), ipam],
  ];
  const servers: Server[] = [];
  try {
    for (const [path, routes] of pairs) {
      const s = createServer(handler(routes, log));
      await listenUnix(s, path);
      servers.push(s);
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
  return {
    sockets: pairs.map(([p]) => p),
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.close(() => r());
              s.closeAllConnections();
            }),
        ),
      );
      for (const [p] of pairs) rmSync(p, { force: true });
    },
  };
}
