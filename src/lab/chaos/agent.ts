/**
 * Runs inside a pod's namespace for `calico-lab chaos`, reporting what happens to its traffic as
 * JSON lines on stdout (times are the host clock, shared by every namespace):
 *
 *   node agent.js echo PORT                      keep every connection open and echo it
 *   node agent.js hold HOST PORT COUNT           keep COUNT connections open, ping each every
 *                                                200 ms; {"ev":"broken"} when one errors or closes
 *                                                (it is then reopened), {"ev":"up"} when open
 *   node agent.js dial HOST PORT EVERY_MS TIMEOUT_MS
 *                                                a new connection every EVERY_MS; {"ev":"dial","ok"}
 *                                                per attempt (ok: the server answered in time)
 */
import { connect, createServer, type Socket } from "node:net";

const [mode, ...args] = process.argv.slice(2);
const emit = (ev: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ t: Date.now(), ...ev })}\n`);

function echo(port: number): void {
  createServer((c) => {
    c.on("error", () => undefined);
    c.pipe(c);
  }).listen({ port, host: "::" });
}

function hold(host: string, port: number, count: number): void {
  const open = (slot: number) => {
    let established = false;
    let done = false;
    const sock: Socket = connect({ host, port });
    sock.setNoDelay(true);
    let timer: NodeJS.Timeout | undefined;
    const end = (reason: string) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      sock.destroy();
      // Only an established connection can be broken; a failed reopen is just retried.
      if (established) emit({ ev: "broken", slot, reason });
      setTimeout(() => open(slot), 200);
    };
    sock.on("connect", () => {
      established = true;
      emit({ ev: "up", slot });
      timer = setInterval(() => sock.write("p"), 200);
    });
    sock.on("data", () => undefined);
    sock.on("error", (e: NodeJS.ErrnoException) => end(e.code ?? e.message));
    sock.on("close", () => end("closed"));
  };
  for (let i = 0; i < count; i++) open(i);
}

function dial(host: string, port: number, everyMs: number, timeoutMs: number): void {
  setInterval(() => {
    const started = Date.now();
    let settled = false;
    const sock = connect({ host, port });
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      process.stdout.write(`${JSON.stringify({ t: started, ev: "dial", ok })}\n`);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    sock.on("data", () => settle(true));
    sock.on("error", () => settle(false));
    sock.on("close", () => settle(false));
  }, everyMs);
}

const n = (i: number) => Number(args[i]);
if (mode === "echo") echo(n(0));
else if (mode === "hold") hold(args[0] as string, n(1), n(2));
else if (mode === "dial") dial(args[0] as string, n(1), n(2), n(3));
else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
