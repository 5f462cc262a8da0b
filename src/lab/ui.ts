/**
 * `calico-lab ui`: a web view of the lab on localhost — nodes, pods and labels, the live flow
 * list and the reachability matrix — served from the lab's state, flow logs and probes.
 */
import { createServer, type Server } from "node:http";
import { readFlows } from "./flows.js";
import type { Lab } from "./lab.js";
import type { MatrixCell } from "./pods.js";
import { alive } from "./processes.js";
import type { LabPaths, LabState } from "./state.js";
import { UI_PAGE } from "./ui-page.js";

/** How many of the newest flow records the page shows. */
const FLOWS_SHOWN = 200;
/** A matrix older than this is probed again when asked for. */
const MATRIX_MAX_AGE_MS = 10_000;

export interface UiServer {
  readonly port: number;
  close(): Promise<void>;
}

function snapshot(paths: LabPaths, state: LabState) {
  return {
    nodes: state.nodes.map((n) => ({
      name: n.name,
      ip: n.ip6 ? `${n.ip}, ${n.ip6}` : n.ip,
      status: alive(n.pid) ? "running" : "not running",
    })),
    pods: Object.entries(state.pods)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([ref, p]) => ({ ref, node: p.node, ips: p.ips ?? [p.ip], labels: p.labels })),
    flows: state.flowLogs ? readFlows(paths, state).slice(-FLOWS_SHOWN).reverse() : [],
    flowLogs: state.flowLogs === true,
  };
}

export async function serveUi(
  lab: Lab,
  host: string,
  port: number,
  probe: { port: number; protocol: string },
): Promise<UiServer> {
  let matrix: { at: number; cells: MatrixCell[] } | undefined;
  let probing: Promise<MatrixCell[]> | undefined;
  const currentMatrix = async (): Promise<MatrixCell[]> => {
    if (matrix && Date.now() - matrix.at < MATRIX_MAX_AGE_MS) return matrix.cells;
    probing ??= lab.matrix(probe.port, probe.protocol).finally(() => {
      probing = undefined;
    });
    const cells = await probing;
    matrix = { at: Date.now(), cells };
    return cells;
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const json = (body: unknown) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    const fail = (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`${err.message}\n`);
    try {
      if (path === "/") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(UI_PAGE);
      else if (path === "/api/state") json(snapshot(lab.paths, lab.currentState()));
      else if (path === "/api/matrix") currentMatrix().then((cells) => json({ ...probe, cells }), fail);
      else res.writeHead(404).end();
    } catch (err) {
      fail(err as Error);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
