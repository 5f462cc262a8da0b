/**
 * `GET /flows`: the recent flow log records as JSON lines, filtered by query parameters
 * (filter.ts); with `follow=true` the response stays open and streams each new record.
 */
import { createServer, type ServerResponse } from "node:http";
import type { FlowLog } from "./aggregator.js";
import { type FlowFilter, FlowFilterError, matchesFlow, parseFlowFilter } from "./filter.js";

export interface FlowServer {
  readonly port: number;
  /** Records to keep for new readers and to stream to followers. */
  publish(records: readonly FlowLog[]): void;
  close(): Promise<void>;
}

export async function serveFlows(host: string, port: number, keep = 10_000): Promise<FlowServer> {
  const recent: FlowLog[] = [];
  const followers = new Set<{ res: ServerResponse; filter: FlowFilter }>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://flows");
    if (url.pathname !== "/flows" || req.method !== "GET") {
      res.writeHead(404, { "content-type": "text/plain" }).end("only GET /flows is served\n");
      return;
    }
    let filter: FlowFilter;
    try {
      filter = parseFlowFilter(url.searchParams, ["follow"]);
    } catch (err) {
      if (!(err instanceof FlowFilterError)) throw err;
      res.writeHead(400, { "content-type": "text/plain" }).end(`${err.message}\n`);
      return;
    }
    const follow = url.searchParams.get("follow") === "true";
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    const lines = recent.filter((r) => matchesFlow(r, filter)).map((r) => `${JSON.stringify(r)}\n`);
    if (lines.length > 0) res.write(lines.join(""));
    if (!follow) {
      res.end();
      return;
    }
    const follower = { res, filter };
    followers.add(follower);
    req.on("close", () => followers.delete(follower));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host || undefined, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    publish(records) {
      recent.push(...records);
      if (recent.length > keep) recent.splice(0, recent.length - keep);
      for (const f of followers) {
        const lines = records.filter((r) => matchesFlow(r, f.filter)).map((r) => `${JSON.stringify(r)}\n`);
        if (lines.length > 0) f.res.write(lines.join(""));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const f of followers) f.res.end();
        server.close(() => resolve());
      }),
  };
}
