/**
 * A share of the Typha benchmark's clients, in a worker thread of its own: as with real Felixes,
 * each group parses and stores on its own heap, so one heap's garbage collection does not hold up
 * every client at once. Reports when all are connected, and when all have a given pool CIDR.
 */
import { parentPort, workerData } from "node:worker_threads";
import { TyphaSyncClient } from "../src/typha/index.js";

const { port, count, first } = workerData as { port: number; count: number; first: number };
const POOL_KEY = "/calico/resources/v3/projectcalico.org/ippools/bench";
const now = () => performance.timeOrigin + performance.now();

let want = "";
let received = 0;
let lastAt = 0;
const heapBefore = process.memoryUsage().heapUsed;
const clients: TyphaSyncClient[] = [];
for (let i = 0; i < count; i++) {
  const client = new TyphaSyncClient(
    {
      addresses: [`127.0.0.1:${port}`],
      syncerType: "felix",
      hostname: `bench${first + i}`,
      retryPauseMs: 100,
    },
    {
      onStatus: () => undefined,
      onUpdates: (updates) => {
        for (const u of updates) {
          if (u.key !== POOL_KEY || (u.value as { spec?: { cidr?: string } } | null)?.spec?.cidr !== want)
            continue;
          received++;
          lastAt = now();
          if (received === count) parentPort?.postMessage({ type: "all", lastAt });
        }
      },
    },
  );
  client.start();
  clients.push(client);
}

const connected = setInterval(() => {
  if (!clients.every((c) => c.connections === 1)) return;
  clearInterval(connected);
  setTimeout(() => {
    parentPort?.postMessage({
      type: "connected",
      heapPerClient: (process.memoryUsage().heapUsed - heapBefore) / count,
    });
  }, 1_000);
}, 50);

parentPort?.on("message", (msg: { type: string; want?: string }) => {
  if (msg.type === "want") {
    want = msg.want ?? "";
    received = 0;
    lastAt = 0;
  } else if (msg.type === "stop") {
    void Promise.all(clients.map((c) => c.stop())).then(() => process.exit(0));
  }
});
