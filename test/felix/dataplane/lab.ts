/**
 * A host namespace with workload namespaces behind `cali*` veths, wired like Calico does it:
 * the workload holds a /32 (/128) and routes everything via 169.254.1.1 (IPv6: the host veth's
 * link-local), which the host answers by proxy ARP; the host routes each workload address to its
 * veth. The host has a default route into a
 * dead-end veth pair only so proxy ARP has "somewhere else" to answer for.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createNetns, type Netns } from "../../support/netns.js";

export interface LabWorkload {
  ns: Netns;
  iface: string;
  ipv4: string;
  ipv6: string;
}

const SERVER = `
const net = require("node:net"), dgram = require("node:dgram");
const [tcp, udp] = process.argv.slice(1).map((s) => s.split(",").map(Number));
let pending = tcp.length + udp.length;
const up = () => { if (--pending === 0) console.log("ready"); };
for (const port of tcp) net.createServer((c) => { c.on("error", () => {}); c.end("ok"); }).listen({ port, host: "::" }, up);
for (const port of udp) {
  const s = dgram.createSocket({ type: "udp6", ipv6Only: false });
  s.on("message", (m, r) => s.send("ok", r.port, r.address));
  s.bind(port, "::", up);
}
`;

const CLIENT = `
const net = require("node:net"), dgram = require("node:dgram");
const [proto, host, port, ms] = process.argv.slice(1);
const done = (r) => { console.log(r); process.exit(0); };
setTimeout(() => done("timeout"), Number(ms));
if (proto === "tcp") {
  const c = net.connect({ host, port: Number(port) });
  c.on("data", () => done("open"));
  c.on("error", (e) => done(e.code === "ECONNREFUSED" ? "refused" : "error:" + e.code));
} else {
  const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  s.on("message", () => done("open"));
  s.send("hi", Number(port), host);
}
`;

const ECHO_SERVER = `
const net = require("node:net");
net.createServer((c) => { c.on("error", () => {}); c.pipe(c); }).listen({ port: Number(process.argv[1]), host: "::" }, () => console.log("ready"));
`;

/** Holds one TCP connection open; each line on stdin is sent and its echo reported as "echo". */
const ECHO_CLIENT = `
const net = require("node:net");
const c = net.connect({ host: process.argv[1], port: Number(process.argv[2]) }, () => console.log("connected"));
c.on("data", () => console.log("echo"));
c.on("error", (e) => { console.log("broken " + e.code); process.exit(1); });
c.on("close", () => { console.log("broken close"); process.exit(1); });
process.stdin.on("data", (d) => c.write(d));
`;

/** A long-lived TCP connection from one workload to another, for tests that must not break it. */
export interface EchoConnection {
  /** Sends a line and waits (up to 2 s) for its echo. */
  roundTrip(): Promise<boolean>;
  broken(): boolean;
  close(): void;
}

export class Lab {
  readonly workloads: LabWorkload[] = [];
  private readonly servers: ChildProcess[] = [];

  private constructor(readonly host: Netns) {}

  static async create(prefix: string): Promise<Lab> {
    const host = await createNetns(prefix);
    const lab = new Lab(host);
    await host.execOk(["sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad"]);
    await host.execOk(["ip", "link", "add", "name", "uplink0", "type", "veth", "peer", "name", "uplink1"]);
    await host.execOk(["ip", "link", "set", "uplink0", "up"]);
    await host.execOk(["ip", "link", "set", "uplink1", "up"]);
    await host.execOk(["ip", "route", "add", "default", "dev", "uplink0", "proto", "static"]);
    await host.execOk(["ip", "-6", "route", "add", "default", "dev", "uplink0", "proto", "static"]);
    await host.execOk([
      "sh",
      "-c",
      "echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding",
    ]);
    return lab;
  }

  /** Adds workload `n` (1-based) at 10.240.0.n / fd00:240::n behind host interface `calitest<n>`. */
  async addWorkload(prefix: string, n: number): Promise<LabWorkload> {
    const ns = await createNetns(prefix);
    const iface = `calitest${n}`;
    const h = this.host;
    await ns.execOk(["sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad"]);
    await h.execOk([
      "ip",
      "link",
      "add",
      "name",
      iface,
      "address",
      "ee:ee:ee:ee:ee:ee",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      ns.name,
    ]);
    await h.execOk([
      "sh",
      "-c",
      `echo 1 > /proc/sys/net/ipv4/conf/${iface}/proxy_arp; echo 0 > /proc/sys/net/ipv4/neigh/${iface}/proxy_delay`,
    ]);
    await h.execOk(["ip", "link", "set", iface, "up"]);
    const ipv4 = `10.240.0.${n}`;
    const ipv6 = `fd00:240::${n}`;
    await ns.execOk(["ip", "addr", "add", `${ipv4}/32`, "dev", "eth0"]);
    await ns.execOk(["ip", "-6", "addr", "add", `${ipv6}/128`, "dev", "eth0", "nodad"]);
    await ns.execOk(["ip", "link", "set", "eth0", "up"]);
    await ns.execOk(["ip", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"]);
    await ns.execOk(["ip", "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"]);
    await ns.execOk([
      "ip",
      "-6",
      "route",
      "add",
      "default",
      "via",
      "fe80::ecee:eeff:feee:eeee",
      "dev",
      "eth0",
    ]);
    const w = { ns, iface, ipv4, ipv6 };
    this.workloads.push(w);
    return w;
  }

  /** Starts TCP and UDP "ok" responders in a workload (both families). */
  async serve(w: LabWorkload, tcp: number[], udp: number[]): Promise<void> {
    const child = spawn(
      "nsenter",
      [`--net=${w.ns.path}`, process.execPath, "-e", SERVER, tcp.join(","), udp.join(",")],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.servers.push(child);
    await new Promise<void>((resolve, reject) => {
      let err = "";
      child.stderr?.on("data", (d: Buffer) => {
        err += d.toString();
      });
      child.stdout?.on("data", (d: Buffer) => {
        if (d.toString().includes("ready")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`server exited (${code}): ${err}`)));
    });
  }

  /** `open`, `timeout` (dropped), `refused` or `error:<code>`. */
  async probe(from: LabWorkload, proto: "tcp" | "udp", to: string, port: number, ms = 700): Promise<string> {
    const out = await from.ns.execOk([process.execPath, "-e", CLIENT, proto, to, String(port), String(ms)]);
    return out.stdout.trim();
  }

  /** A TCP echo server on \`port\` in the workload. */
  async serveEcho(w: LabWorkload, port: number): Promise<void> {
    const child = spawn(
      "nsenter",
      [`--net=${w.ns.path}`, process.execPath, "-e", ECHO_SERVER, String(port)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.servers.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (d: Buffer) => {
        if (d.toString().includes("ready")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`echo server exited (${code})`)));
    });
  }

  async openEchoConnection(from: LabWorkload, to: string, port: number): Promise<EchoConnection> {
    const child = spawn(
      "nsenter",
      [`--net=${from.ns.path}`, process.execPath, "-e", ECHO_CLIENT, to, String(port)],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    this.servers.push(child);
    let out = "";
    let waiter: (() => void) | undefined;
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      waiter?.();
    });
    const wait = (pred: () => boolean, ms: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(pred()), ms);
        waiter = () => {
          if (pred()) {
            clearTimeout(timer);
            resolve(true);
          }
        };
        waiter();
      });
    if (!(await wait(() => out.includes("connected"), 3_000)))
      throw new Error(`no connection to ${to}:${port}: ${out}`);
    return {
      roundTrip: async () => {
        const before = out.split("echo").length;
        child.stdin?.write("ping\n");
        return wait(() => out.split("echo").length > before, 2_000);
      },
      broken: () => out.includes("broken"),
      close: () => child.kill("SIGKILL"),
    };
  }

  async ping(from: LabWorkload, to: string): Promise<boolean> {
    const out = await from.ns.exec(["busybox", "ping", "-c", "1", "-W", "1", to]);
    return out.code === 0;
  }

  async close(): Promise<void> {
    for (const s of this.servers) {
      if (s.exitCode !== null || s.signalCode !== null) continue;
      const exited = new Promise((r) => s.once("exit", r));
      s.kill("SIGKILL");
      await exited;
    }
    for (const w of this.workloads) await w.ns.remove();
    await this.host.remove();
  }
}
