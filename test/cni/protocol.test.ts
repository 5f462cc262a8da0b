/**
 * The built executables' process contract: VERSION, flags, and error JSON on stdout with exit
 * status 1 for bad environments, bad configs and unsupported versions. None of these needs a
 * datastore, so they run without one.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exec } from "../support/netns.js";
import { REPO } from "./harness.js";

const bin = (p: string) => join(REPO, "bin", p);
const baseEnv = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  CNI_CONTAINERID: "proto1",
  CNI_NETNS: "/var/run/netns/cts-cni-none",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/nonexistent",
};
const conf = {
  cniVersion: "1.0.0",
  name: "net1",
  type: "calico",
  nodename_file_optional: true,
  ipam: { type: "calico-ipam" },
};

async function run(plugin: string, env: Record<string, string>, stdin: unknown, args: string[] = []) {
  const out = await exec(bin(plugin), args, {
    env,
    input: typeof stdin === "string" ? stdin : JSON.stringify(stdin),
  });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(out.stdout) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { ...out, json };
}

describe.each(["calico", "calico-ipam"])("%s process contract", (plugin) => {
  it("answers VERSION without reading config", async () => {
    const out = await run(plugin, { PATH: baseEnv.PATH, CNI_COMMAND: "VERSION" }, "");
    expect(out.code).toBe(0);
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
  });

  it("reports a missing CNI_COMMAND as code 4", async () => {
    const out = await run(plugin, { PATH: baseEnv.PATH }, conf);
    expect(out.code).toBe(1);
    expect(out.json).toEqual({ code: 4, msg: "required env variables [CNI_COMMAND] missing" });
  });

  it("names missing variables", async () => {
    const out = await run(plugin, { PATH: baseEnv.PATH, CNI_COMMAND: "ADD", CNI_IFNAME: "eth0" }, conf);
    expect(out.json).toMatchObject({
      code: 4,
      msg: "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_PATH] missing",
    });
  });

  it("reports undecodable config as code 6", async () => {
    const out = await run(plugin, { ...baseEnv, CNI_COMMAND: "ADD" }, "{not json");
    expect(out.code).toBe(1);
    expect(out.json).toMatchObject({ code: 6, msg: "error parsing network config from stdin" });
    expect(String(out.json?.details)).toMatch(/JSON/);
  });

  it("reports an invalid field as code 7 naming it", async () => {
    const out = await run(plugin, { ...baseEnv, CNI_COMMAND: "ADD" }, { ...conf, mtu: "big" });
    expect(out.json).toMatchObject({
      code: 7,
      msg: 'invalid network config: field "mtu" must be an integer, got "big"',
    });
  });

  it("rejects an unsupported cniVersion with code 1", async () => {
    const out = await run(plugin, { ...baseEnv, CNI_COMMAND: "ADD" }, { ...conf, cniVersion: "2.0.0" });
    expect(out.json).toMatchObject({ code: 1, msg: "unsupported CNI version 2.0.0" });
  });

  it("refuses CHECK for configs older than 0.4.0", async () => {
    const out = await run(plugin, { ...baseEnv, CNI_COMMAND: "CHECK" }, { ...conf, cniVersion: "0.3.1" });
    expect(out.json).toMatchObject({ code: 1, msg: "config version does not allow CHECK" });
  });

  it("prints its version with -v", async () => {
    const out = await run(plugin, { PATH: baseEnv.PATH }, "", ["-v"]);
    expect(out.code).toBe(0);
    expect(out.stdout.trim()).toMatch(/^v\d+\.\d+\.\d+/);
  });
});

describe("calico-ipam arguments", () => {
  it("rejects unknown CNI_ARGS without IgnoreUnknown (code 4)", async () => {
    const out = await run("calico-ipam", { ...baseEnv, CNI_COMMAND: "ADD", CNI_ARGS: "FOO=bar" }, conf);
    expect(out.json).toMatchObject({ code: 4, msg: "CNI_ARGS: unknown args [FOO]" });
  });
});

describe("calico datastore settings", () => {
  it("refuses the kubernetes datastore with a clear message", async () => {
    const out = await run(
      "calico",
      { ...baseEnv, CNI_COMMAND: "DEL" },
      { ...conf, datastore_type: "kubernetes" },
    );
    expect(out.json).toMatchObject({ code: 7, msg: 'unsupported datastore_type "kubernetes"' });
  });

  it("fails DEL when the nodename file is required and missing", async () => {
    const out = await run(
      "calico",
      { ...baseEnv, CNI_COMMAND: "DEL" },
      { ...conf, nodename_file_optional: false, nodename_file: "/nonexistent/nodename" },
    );
    expect(out.json).toMatchObject({ code: 999 });
    expect(String(out.json?.msg)).toContain("stat /nonexistent/nodename");
  });
});
