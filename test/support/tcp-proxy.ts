/**
 * A loopback TCP proxy for connection-loss tests: clients keep one stable endpoint while a test
 * cuts every connection (as a network partition or a dead server would), refuses new ones for a
 * while, or points the proxy at a restarted server on another port.
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`, to hand to clients instead of the real endpoint. */
  endpoint: string;
  /** Destroy open connections and refuse new ones until restore(). */
  cut(): void;
  restore(): void;
  /** Forward new connections to another `http://host:port`. */
  retarget(endpoint: string): void;
  close(): Promise<void>;
}

function hostPort(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  return { host: url.hostname, port: Number(url.port) };
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  let dest = hostPort(target);
  let down = false;
  const open = new Set<Socket>();
  const track = (s: Socket) => {
    open.add(s);
    s.once("close", () => open.delete(s));
  };
  const server = createServer((client) => {
    track(client);
    if (down) {
      client.destroy();
      return;
    }
    const upstream = createConnection(dest);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const dropAll = () => {
    for (const s of open) s.destroy();
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    cut() {
      down = true;
      dropAll();
    },
    restore() {
      down = false;
    },
    retarget(endpoint) {
      dest = hostPort(endpoint);
    },
    async close() {
      down = true;
      dropAll();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
