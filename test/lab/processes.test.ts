/**
 * The lab's `kill -9` of a container: the process it started and that process's children die,
 * and a process it did not start lives on (chaos once killed a CNI call this way and leaked its IP).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { alive, detached, killGroup, sleep } from "../../src/lab/processes.js";

const dir = mkdtempSync(join(tmpdir(), "lab-processes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(20);
}

describe("killGroup", () => {
  it("kills a detached process and its children, and nothing else", async () => {
    const childFile = join(dir, "child.pid");
    const parent = detached(
      ["sh", "-c", `sleep 60 & echo $! > ${childFile}; wait`],
      { PATH: process.env.PATH },
      join(dir, "parent.log"),
    );
    const bystander = spawn("sleep", ["60"], { stdio: "ignore" });
    await until(() => {
      try {
        return readFileSync(childFile, "utf8").trim() !== "";
      } catch {
        return false;
      }
    });
    const child = Number(readFileSync(childFile, "utf8").trim());
    expect(alive(parent) && alive(child)).toBe(true);

    killGroup(parent);
    await until(() => !alive(child));
    expect(alive(child)).toBe(false);
    expect(bystander.exitCode).toBeNull();
    expect(alive(bystander.pid)).toBe(true);
    bystander.kill("SIGKILL");
  });
});
