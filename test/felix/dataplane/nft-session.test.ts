import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRunner } from "../../../src/felix/dataplane/index.js";
import { NftSession } from "../../../src/felix/dataplane/nft/session.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";

let ns: Netns;
let session: NftSession;

async function chain(): Promise<string> {
  return (await ns.execOk(["nft", "list", "chain", "ip", "sess", "c"])).stdout;
}

beforeAll(async () => {
  ns = await createNetns("cts-nses");
  const start = localRunner(["nsenter", `--net=${ns.path}`]).start;
  if (!start) throw new Error("localRunner cannot start processes");
  session = new NftSession(start);
});

afterAll(async () => {
  session.close();
  await removeAll();
});

describe("nft -i session", () => {
  it("runs a multi-line script as one transaction, keeping ';' inside quoted comments", async () => {
    const out = await session.run(
      [
        "add table ip sess",
        "add chain ip sess c",
        'add rule ip sess c tcp dport 1 accept comment "cali:a; one;two"',
        "",
      ].join("\n"),
    );
    expect(out).toMatchObject({ code: 0, stderr: "" });
    expect(await chain()).toContain('comment "cali:a; one;two"');
  });

  it("reports a refused transaction with nft's error and applies none of it", async () => {
    const out = await session.run(
      ["add rule ip sess c tcp dport 2 accept", "add rule ip sess nochain tcp dport 3 accept", ""].join("\n"),
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/Error: .*No such file or directory/);
    expect(await chain()).not.toContain("dport 2");
    // The error and its caret lines do not leak into the next answer.
    const next = await session.run("add rule ip sess c tcp dport 4 accept\n");
    expect(next).toMatchObject({ code: 0, stderr: "" });
    expect(await chain()).toContain("dport 4");
  });

  it("answers concurrent callers in order", async () => {
    const results = await Promise.all(
      [10, 11, 12].map((p) => session.run(`add rule ip sess c tcp dport ${p} accept\n`)),
    );
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect((await chain()).match(/dport 1[012]/g)).toEqual(["dport 10", "dport 11", "dport 12"]);
  });

  it("starts a new nft when the old one died", async () => {
    await session.run("add rule ip sess c tcp dport 20 accept\n");
    const pid = session.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, "SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
    const out = await session.run("add rule ip sess c tcp dport 21 accept\n");
    expect(out).toMatchObject({ code: 0 });
    expect(await chain()).toContain("dport 21");
  });
});
