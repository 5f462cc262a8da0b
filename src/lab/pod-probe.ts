/**
 * Runs inside the probing pod's namespace: `node pod-probe.js tcp|udp HOST PORT TIMEOUT_MS`.
 * Prints `open` when the server answered, `closed` when refused, `timeout` otherwise.
 */
import { createSocket } from "node:dgram";
import { connect } from "node:net";

const [proto, host, portText, msText] = process.argv.slice(2);
const port = Number(portText);
const done = (result: string) => {
  process.stdout.write(`${result}\n`);
  process.exit(0);
};
setTimeout(() => done("timeout"), Number(msText ?? 1000));
if (proto === "tcp") {
  const c = connect({ host: host as string, port });
  c.on("data", () => done("open"));
  c.on("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "closed" : "timeout"));
} else {
  const s = createSocket(host?.includes(":") ? "udp6" : "udp4");
  s.on("message", () => done("open"));
  s.on("error", () => done("closed"));
  s.send("probe", port, host);
}
