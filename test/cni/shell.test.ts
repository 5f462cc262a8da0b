import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand, shellLock, shellUnlock, startCommandShell } from "../../src/cni/shell.js";
import { commandLine, shellRequest, takeStderr, takeStdout } from "../../src/cni/shell-protocol.js";
import { run } from "../../src/lib/exec.js";

describe("command shell protocol", () => {
  it("quotes every word and feeds stdin as a quoted here-document ending in its own delimiter", () => {
    expect(commandLine(["ip", "-batch", "-", "it's"])).toBe(`'ip' '-batch' '-' 'it'\\''s'`);
    const req = shellRequest("tok", 3, "'cat'", "a $HOME\nb");
    expect(req.startsWith("'cat' 8>&- <<'CALICO_TS_IN_tok_3'\na $HOME\nb\nCALICO_TS_IN_tok_3\n")).toBe(true);
    expect(req).toContain(`printf '\\n%s %d\\n' 'CALICO_TS_END_tok_3' "$?"`);
  });

  it("cuts a command's output and status out of the streams at its own marker only", () => {
    const out = "line1\nCALICO_TS_END_tok_2 0\n\nCALICO_TS_END_tok_3 2\nnext";
    expect(takeStdout(out, "tok", 3)).toEqual({
      output: "line1\nCALICO_TS_END_tok_2 0\n",
      code: 2,
      rest: "next",
    });
    expect(takeStdout("partial\n", "tok", 3)).toBeUndefined();
    expect(takeStderr("warn\n\nCALICO_TS_END_tok_3\n", "tok", 3)).toEqual({ output: "warn\n", rest: "" });
  });
});

describe("command shell", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cts-cni-shell-"));
    startCommandShell();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("runs commands one after another with their stdin, stdout, stderr and exit status", async () => {
    const [a, b, c] = await Promise.all([
      runCommand("sh", ["-c", "cat; echo oops >&2; exit 3"], { input: "in $PATH\n`x`" }),
      runCommand("printf", ["%s", "no newline"]),
      runCommand("sh", ["-c", "read x || echo eof"]),
    ]);
    expect(a).toEqual({ code: 3, stdout: "in $PATH\n`x`\n", stderr: "oops\n" });
    expect(b).toEqual({ code: 0, stdout: "no newline", stderr: "" });
    // A command never reads the requests: its stdin is empty.
    expect(c).toEqual({ code: 0, stdout: "eof\n", stderr: "" });
  });

  it("holds an flock until unlocked; another holder's non-blocking attempt fails meanwhile", async () => {
    const path = join(dir, "ipam.lock");
    expect(await shellLock(path, 5)).toBe(0);
    const other = ["--exclusive", "--nonblock", path, "true"];
    expect((await run("flock", other)).code).not.toBe(0);
    // Commands run while it is held do not get its descriptor.
    expect((await runCommand("sh", ["-c", "ls /proc/self/fd"])).stdout.split("\n")).not.toContain("8");
    expect((await run("flock", other)).code).not.toBe(0);
    await shellUnlock();
    expect((await run("flock", other)).code).toBe(0);
  });

  it("a command that outlives its timeout kills the shell; later commands still run", async () => {
    const slow = await runCommand("sleep", ["5"], { timeoutMs: 200 });
    expect(slow.code).toBe(128);
    expect(slow.stderr).toContain("SIGKILL");
    expect(await runCommand("echo", ["after"])).toEqual({ code: 0, stdout: "after\n", stderr: "" });
  });
});
