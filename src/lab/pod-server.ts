/**
 * Runs inside a pod's namespace: answers every TCP connection on the listed ports with "ok" and
 * echoes UDP datagrams. `node pod-server.js tcp:80 udp:81 …`
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";

for (const spec of process.argv.slice(2)) {
  const [proto, portText] = spec.split(":");
  const port = Number(portText);
  if (proto === "tcp") {
    createServer((c) => {
      c.on("error", () => undefined);
      c.end("ok\n");
    }).listen({ port, host: "::" });
  } else if (proto === "udp") {
    const s = createSocket({ type: "udp6", ipv6Only: false });
    s.on("message", (_m, r) => s.send("ok\n", r.port, r.address));
    s.bind(port, "::");
  }
}
