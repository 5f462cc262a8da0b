import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { Logger } from "../../src/cni/log-core.js";

const dir = mkdtempSync(join(tmpdir(), "cts-cni-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("plugin logger", () => {
  it("writes to stderr and the file, honouring the level, never to stdout", () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, "write");
    try {
      const log = new Logger();
      const path = join(dir, "sub/cni.log");
      log.configure("info", { path, maxSizeMB: 100, maxCount: 3 });
      log.with({ containerID: "abc" });
      log.debug("hidden");
      log.info("shown", { n: 1 });
      const line = readFileSync(path, "utf8");
      expect(line).toMatch(/\[INFO\]\[\d+\] shown containerID=abc n=1\n$/);
      expect(line).not.toContain("hidden");
      expect(stderr).toHaveBeenCalledWith(line);
      expect(stdout).not.toHaveBeenCalled();
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  });

  it("rotates a file that has reached its size", () => {
    const path = join(dir, "rot.log");
    writeFileSync(path, "old\n");
    writeFileSync(`${path}.1`, "older\n");
    new Logger().configure("error", { path, maxSizeMB: 0, maxCount: 3 });
    expect(readFileSync(`${path}.1`, "utf8")).toBe("old\n");
    expect(readFileSync(`${path}.2`, "utf8")).toBe("older\n");
    expect(existsSync(path)).toBe(false);
  });
});
