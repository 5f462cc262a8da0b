import { describe, expect, it } from "vitest";
import type { CommandRunner } from "../../../src/felix/dataplane/exec.js";
import { defaultRenderConfig, PolicyDataplane } from "../../../src/felix/dataplane/index.js";
import { workload } from "./fixtures.js";

/** Pretends the kernel is empty but for the interface `calia`, and records every command. */
function fakeKernel(): { run: CommandRunner; calls: { argv: string[]; input?: string }[] } {
  const calls: { argv: string[]; input?: string }[] = [];
  const run: CommandRunner = async (argv, input) => {
    calls.push(input === undefined ? { argv } : { argv, input });
    if (argv[0] === "nft" && argv.includes("list"))
      return { code: 1, stdout: "", stderr: "Error: No such file or directory" };
    if (argv[0] === "ip" && argv.includes("link") && argv.includes("show"))
      return {
        code: 0,
        stdout: JSON.stringify([{ ifindex: 7, ifname: "calia", flags: ["UP"] }]),
        stderr: "",
      };
    if (argv[0] === "ip" && argv.includes("show")) return { code: 0, stdout: "[]", stderr: "" };
    return { code: 0, stdout: "", stderr: "" };
  };
  return { run, calls };
}

describe("policy dataplane", () => {
  it("records updates without touching the kernel and applies routes then both tables", async () => {
    const k = fakeKernel();
    const dp = new PolicyDataplane(k.run, defaultRenderConfig());
    await dp.apply();
    expect(dp.needsApply).toBe(false);
    k.calls.length = 0;

    dp.onUpdate({ type: "InSync" });
    expect(dp.needsApply).toBe(false);
    dp.onUpdate({
      type: "WorkloadEndpointUpdate",
      id: { orchestratorId: "k8s", workloadId: "ns/a", endpointId: "eth0" },
      endpoint: workload("calia", ["10.65.0.5/32"], { ipv6Nets: ["fd00::5/128"] }),
    });
    expect(dp.needsApply).toBe(true);
    expect(k.calls).toEqual([]);

    const result = await dp.apply();
    expect(result.routes[4]).toBe("route replace 10.65.0.5 dev calia proto boot scope link\n");
    expect(result.routes[6]).toBe("route replace fd00::5 dev calia proto boot scope link\n");
    const writes = k.calls.filter((c) => c.input !== undefined).map((c) => c.argv.join(" "));
    // Both families' tables change in one nft transaction.
    expect(writes).toEqual(["ip -4 -force -batch -", "ip -6 -force -batch -", "nft -f -"]);
    expect(result.nft?.[4].script).toContain('"calia" : goto filter-cali-fw-calia');
    // The first apply created the tables; this one only adds to them, without listing them again.
    expect(result.nft?.[6].script).toContain("add chain ip6 calico filter-cali-tw-calia");
    expect(k.calls.some((c) => c.argv.includes("list"))).toBe(false);
    expect(dp.needsApply).toBe(false);
  });

  it("asks to be applied again when a CNI-made route is waiting out its grace period", async () => {
    const k = fakeKernel();
    const run: CommandRunner = async (argv, input) => {
      if (argv.join(" ") === "ip -j -4 route show table main")
        return { code: 0, stdout: '[{"dst":"10.65.9.9","dev":"calinew","scope":"link"}]', stderr: "" };
      return k.run(argv, input);
    };
    const dp = new PolicyDataplane(run, defaultRenderConfig());
    const before = Date.now();
    const result = await dp.apply();
    expect(result.routes[4]).toBe("");
    expect(dp.applyDeadline).toBeGreaterThanOrEqual(before + 10_000);
  });
});
