import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HealthAggregator, serveHealth } from "../../src/lib/health.js";
import { createLogger, LogConfigError, pinoLevel } from "../../src/lib/log.js";

describe("HealthAggregator", () => {
  it("is live/ready only while every reporter is, and a silent reporter times out", () => {
    let now = 1000;
    const agg = new HealthAggregator(() => now);
    agg.register("a", { live: true, ready: false, timeoutMs: 0 });
    agg.register("b", { live: true, ready: true, timeoutMs: 5000 });
    expect([agg.live, agg.ready]).toEqual([true, false]);
    agg.report("a", { live: true, ready: true });
    expect([agg.live, agg.ready]).toEqual([true, true]);
    now += 6000;
    expect([agg.live, agg.ready]).toEqual([false, false]);
    expect(agg.table()).toContain("timed out");
    agg.report("b", { live: true, ready: true });
    expect([agg.live, agg.ready]).toEqual([true, true]);
    expect(() => agg.report("nope", { live: true, ready: true })).toThrow(/nope/);
  });
});

describe("serveHealth", () => {
  it("answers 200 when good, 503 when not, 404 elsewhere", async () => {
    const agg = new HealthAggregator();
    agg.register("felix", { live: true, ready: false, timeoutMs: 0 });
    const srv = await serveHealth(agg, "127.0.0.1", 0);
    try {
      const get = async (p: string) => (await fetch(`http://127.0.0.1:${srv.port}${p}`)).status;
      expect(await get("/liveness")).toBe(200);
      expect(await get("/readiness")).toBe(503);
      agg.report("felix", { live: false, ready: true });
      expect(await get("/liveness")).toBe(503);
      expect(await get("/readiness")).toBe(200);
      expect(await get("/other")).toBe(404);
    } finally {
      await srv.close();
    }
  });
});

describe("log levels", () => {
  const dir = mkdtempSync(join(tmpdir(), "h3-log-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("maps Calico's severity names case-insensitively", () => {
    expect(pinoLevel("Warning")).toBe("warn");
    expect(pinoLevel("PANIC")).toBe("fatal");
    expect(pinoLevel("none")).toBe("silent");
    expect(pinoLevel("loud")).toBeUndefined();
  });

  it("rejects a bad severity naming the parameter", () => {
    expect(() => createLogger({ name: "t", screen: "loud" })).toThrow(LogConfigError);
    expect(() => createLogger({ name: "t", screen: "none", file: "sometimes" })).toThrow(/LogSeverityFile/);
  });

  it("writes the file at its own threshold, creating the directory", async () => {
    const path = join(dir, "sub", "felix.log");
    const log = createLogger({ name: "felix", screen: "None", file: "Warning", filePath: path });
    log.info("quiet line");
    log.warn("loud line");
    log.flush();
    // The file stream is asynchronous: wait for the warning to land.
    let text = "";
    for (let i = 0; i < 50 && !text.includes("loud line"); i++) {
      await new Promise((r) => setTimeout(r, 50));
      text = existsSync(path) ? readFileSync(path, "utf8") : "";
    }
    expect(text).toContain("loud line");
    expect(text).not.toContain("quiet line");
  });
});
