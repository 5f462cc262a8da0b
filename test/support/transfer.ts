/**
 * Bulk transfers for MTU tests: a sink that answers each TCP stream with its length and SHA-256
 * and each UDP datagram with its size, and senders for both. A transfer that arrives intact
 * proves nothing was silently dropped or truncated on the way (the classic wrong-MTU black hole).
 */
import { createHash } from "node:crypto";

export const SINK_TCP_PORT = 7000;
export const SINK_UDP_PORT = 7001;

/** `node -e SINK_SCRIPT` prints "ready" once both sockets listen. */
export const SINK_SCRIPT = `
const net = require("node:net"), dgram = require("node:dgram"), crypto = require("node:crypto");
net.createServer((c) => { const h = crypto.createHash("sha256"); let n = 0;
  c.on("data", (d) => { h.update(d); n += d.length; }); c.on("end", () => c.end(n + " " + h.digest("hex"))); c.on("error", () => {}); })
  .listen(${SINK_TCP_PORT}, "0.0.0.0", () => {
    const u = dgram.createSocket("udp4"); u.on("message", (m, r) => u.send(String(m.length), r.port, r.address));
    u.bind(${SINK_UDP_PORT}, "0.0.0.0", () => console.log("ready"));
  });
`;

/** `node -e SEND_TCP_SCRIPT HOST SIZE`: prints the sink's answer, "timeout" or "error CODE". */
export const SEND_TCP_SCRIPT = `
const net = require("node:net");
const [host, size] = process.argv.slice(1); const buf = Buffer.alloc(Number(size));
for (let i = 0; i < buf.length; i++) buf[i] = (i * 7) & 255;
const c = net.connect({ host, port: ${SINK_TCP_PORT} }, () => c.end(buf)); let out = "";
c.on("data", (d) => (out += d)); c.on("close", () => { console.log(out || "closed"); process.exit(0); });
c.on("error", (e) => { console.log("error " + e.code); process.exit(0); });
setTimeout(() => { console.log("timeout"); process.exit(0); }, 3000);
`;

/** `node -e SEND_UDP_SCRIPT HOST SIZE`: prints the size the sink received, or "timeout". */
export const SEND_UDP_SCRIPT = `
const dgram = require("node:dgram"); const [host, size] = process.argv.slice(1);
const s = dgram.createSocket("udp4"); s.on("message", (m) => { console.log(String(m)); process.exit(0); });
s.send(Buffer.alloc(Number(size), 1), ${SINK_UDP_PORT}, host); setTimeout(() => { console.log("timeout"); process.exit(0); }, 3000);
`;

/** What the sink answers for an intact transfer of `size` bytes. */
export function expectedDigest(size: number): string {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 7) & 255;
  return `${size} ${createHash("sha256").update(buf).digest("hex")}`;
}
