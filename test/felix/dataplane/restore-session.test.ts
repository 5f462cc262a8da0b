/**
 * The long-lived `iptables-restore --noflush` session against the kernel in a namespace, for both
 * flavours: a script is in the kernel when `run` resolves, a refused one reports the restore's
 * error and commits nothing, and a dead restore is replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  desiredIPSets,
  IpsetsDriver,
  IptablesDriver,
  type IptablesFlavour,
  type IptChain,
  localRunner,
  planIpsets,
  renderFilterChains,
} from "../../../src/felix/dataplane/index.js";
import {
  RestoreSession,
  restoreSessionSupported,
} from "../../../src/felix/dataplane/iptables/restore-session.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";
import { sampleState } from "./fixtures.js";

let ns: Netns;

beforeAll(async () => {
  ns = await createNetns("cts-ipts");
});

afterAll(async () => {
  await removeAll();
});

const supported = restoreSessionSupported();
if (!supported) console.log("restore-session tests skipped: /proc/<pid>/syscall is not readable here");

describe.skipIf(!supported).each(["nft", "legacy"] as IptablesFlavour[])(
  "restore session (%s flavour)",
  (flavour) => {
    const restore = flavour === "nft" ? "iptables-nft-restore" : "iptables-legacy-restore";
    const saveCmd = flavour === "nft" ? "iptables-nft-save" : "iptables-legacy-save";
    const chain = `sess-${flavour}`;
    let session: RestoreSession;

    const rules = async () =>
      (await ns.execOk([saveCmd, "-t", "filter"])).stdout
        .split("\n")
        .filter((l) => l.startsWith(`-A ${chain} `));
    const rewrite = (ports: number[]) =>
      [
        "*filter",
        `:${chain} - [0:0]`,
        ...ports.map((p) => `-A ${chain} -p tcp --dport ${p} -j ACCEPT`),
        "COMMIT",
        "",
      ].join("\n");

    beforeAll(() => {
      const start = localRunner(["nsenter", `--net=${ns.path}`]).start;
      if (!start) throw new Error("localRunner cannot start processes");
      session = new RestoreSession(start, [restore, "--noflush"]);
    });

    afterAll(() => session.close());

    it("has each script in the kernel when it resolves, with one process for all of them", async () => {
      let pid: number | undefined;
      for (let i = 0; i < 15; i++) {
        const out = await session.run(rewrite([1000 + i, 2000 + i]));
        expect(out).toMatchObject({ code: 0 });
        // Read straight after: a session that answered early would show the previous script.
        expect(await rules()).toEqual([
          `-A ${chain} -p tcp -m tcp --dport ${1000 + i} -j ACCEPT`,
          `-A ${chain} -p tcp -m tcp --dport ${2000 + i} -j ACCEPT`,
        ]);
        pid ??= session.pid;
        expect(session.pid).toBe(pid);
      }
    });

    it("reports a refused script with the restore's error, commits none of its table, then carries on", async () => {
      const bad = [
        "*filter",
        `:${chain} - [0:0]`,
        `-A ${chain} -p tcp --dport 7 -j ACCEPT`,
        `-A ${chain} -j no-such-chain`,
        "COMMIT",
        "",
      ].join("\n");
      const out = await session.run(bad);
      expect(out.code).not.toBe(0);
      expect(out.stderr).toMatch(/no-such-chain|line \d+ failed/);
      expect(await rules()).toEqual([
        `-A ${chain} -p tcp -m tcp --dport 1014 -j ACCEPT`,
        `-A ${chain} -p tcp -m tcp --dport 2014 -j ACCEPT`,
      ]);
      expect(await session.run(rewrite([3000]))).toMatchObject({ code: 0, stderr: "" });
      expect(await rules()).toEqual([`-A ${chain} -p tcp -m tcp --dport 3000 -j ACCEPT`]);
    });

    it("answers concurrent callers in order", async () => {
      const results = await Promise.all([[10], [10, 11], [10, 11, 12]].map((p) => session.run(rewrite(p))));
      expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
      expect((await rules()).length).toBe(3);
    });

    it("starts a new restore when the old one died", async () => {
      const pid = session.pid;
      expect(pid).toBeGreaterThan(0);
      process.kill(pid as number, "SIGKILL");
      await new Promise((r) => setTimeout(r, 200));
      expect(await session.run(rewrite([21]))).toMatchObject({ code: 0 });
      expect(await rules()).toEqual([`-A ${chain} -p tcp -m tcp --dport 21 -j ACCEPT`]);
      expect(session.pid).not.toBe(pid);
      await ns.execOk([flavour === "nft" ? "iptables-nft" : "iptables-legacy", "-F", chain]);
      await ns.execOk([flavour === "nft" ? "iptables-nft" : "iptables-legacy", "-X", chain]);
    });
  },
);

describe.skipIf(!supported)("iptables driver with a runner that can start processes", () => {
  it("applies changes through one long-lived restore per family", async () => {
    const runner = localRunner(["nsenter", `--net=${ns.path}`]);
    const driver = new IptablesDriver(runner, "nft");
    const ipsets = new IpsetsDriver(runner);
    const state = sampleState({ dualStack: true });
    const extra = (port: number): IptChain => ({
      name: "cali-pi-sess",
      rules: [{ body: `-p tcp --dport ${port} -j ACCEPT`, hash: `h${port}` }],
    });
    try {
      for (const family of [4, 6] as const) {
        const chains = renderFilterChains(state, family, defaultRenderConfig());
        await ipsets.restore(
          planIpsets(desiredIPSets(state, family), await ipsets.read(family), family).update,
        );
        // The first apply is the big initial load (forked); later ones go through the session.
        await driver.apply(family, chains);
        await driver.apply(family, [...chains, extra(1)]);
        const pid = driver.sessionPid(family);
        expect(pid).toBeGreaterThan(0);
        await driver.apply(family, [...chains, extra(2)]);
        expect(driver.sessionPid(family)).toBe(pid);
        const save = (await ns.execOk([family === 4 ? "iptables-save" : "ip6tables-save", "-t", "filter"]))
          .stdout;
        expect(save).toMatch(/-A cali-pi-sess .*--dport 2 .*-j ACCEPT/);
        expect(save).not.toMatch(/--dport 1 /);
        await driver.apply(family, []);
        expect((await ns.execOk([family === 4 ? "iptables-save" : "ip6tables-save"])).stdout).not.toContain(
          "cali-",
        );
      }
    } finally {
      driver.close();
    }
  });
});
