/**
 * Syslog as a log destination with its own threshold (LogSeveritySys): a unix datagram socket made
 * by socat stands in for /dev/log; with the threshold at Warning a warning reaches it and an info
 * line does not.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseFelixParams } from "../../src/felix/index.js";
import { createLogger, syslogLine } from "../../src/lib/log.js";
import { eventually } from "../support/datastore.js";

const haveTools = spawnSync("socat", ["-V"]).status === 0 && spawnSync("logger", ["--version"]).status === 0;
if (!haveTools) console.log("skipping syslog tests: socat or logger (util-linux) is not installed");

let dir: string;
let socket: string;
let receiver: ChildProcess;
let received = "";

beforeAll(async () => {
  if (!haveTools) return;
  dir = await mkdtemp(join(tmpdir(), "cts-syslog-"));
  socket = join(dir, "log");
  receiver = spawn("socat", ["-u", `UNIX-RECV:${socket}`, "STDOUT"], { stdio: ["ignore", "pipe", "ignore"] });
  receiver.stdout?.on("data", (d: Buffer) => {
    received += `${d.toString()}\n`;
  });
  await eventually(() => expect(existsSync(socket)).toBe(true), 5_000);
});

afterAll(async () => {
  receiver?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!haveTools)("syslog", () => {
  it("sends lines at or above LogSeveritySys to the syslog socket, with their priority", async () => {
    const log = createLogger({ name: "calico-felix", screen: "None", sys: "Warning", syslogSocket: socket });
    log.info("info-line-should-not-arrive");
    log.warn({ iface: "cali1" }, "warning-line-arrives");
    log.error("error-line-arrives");
    await eventually(() => expect(received).toContain("error-line-arrives"), 10_000);
    // Facility user (1): warning = 8 + 4, error = 8 + 3.
    expect(received).toMatch(/<12>.*calico-felix\[\d+\]: WARNING warning-line-arrives \{"iface":"cali1"\}/);
    expect(received).toMatch(/<11>.*calico-felix\[\d+\]: ERROR error-line-arrives/);
    expect(received).not.toContain("info-line-should-not-arrive");
  });

  it("sends nothing when LogSeveritySys is None, and nothing breaks without a socket", async () => {
    const before = received.length;
    createLogger({ name: "quiet", screen: "None", sys: "None", syslogSocket: socket }).error("silenced-line");
    createLogger({ name: "nosock", screen: "None", sys: "Debug", syslogSocket: join(dir, "absent") }).error(
      "x",
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(received.slice(before)).not.toContain("silenced-line");
  });
});

describe("syslog settings", () => {
  it("formats pino lines as <PRI>LEVEL message {fields}", () => {
    expect(syslogLine('{"level":50,"time":1,"pid":2,"name":"typha","msg":"boom","conn":3}\n')).toBe(
      '<11>ERROR boom {"conn":3}',
    );
    expect(syslogLine('{"level":30,"msg":"a\\nb"}')).toBe("<14>INFO a b");
  });

  it("reads Felix's LogSeveritySys (default Info) and names it when bad", () => {
    expect(parseFelixParams({}).logSeveritySys).toBe("Info");
    expect(parseFelixParams({ LogSeveritySys: "warning" }).logSeveritySys).toBe("warning");
    expect(() => parseFelixParams({ LogSeveritySys: "chatty" })).toThrow(/LogSeveritySys/);
    expect(() => createLogger({ name: "x", screen: "Info", sys: "chatty" })).toThrow(/LogSeveritySys/);
  });
});
