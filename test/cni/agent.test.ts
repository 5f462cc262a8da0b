/**
 * The CNI agent as a runtime meets it: the runtime executes bin/calico in the host namespace,
 * and the agent (as calico-node runs it, in that namespace) does the work; when no agent answers,
 * the plugin runs as its own process. Which one served a call is read from the CNI log, whose
 * lines carry the pid of the process that wrote them.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_DIR, parseAgentRequest } from "../../src/cni/agent.js";
import {
  type Agent,
  type Cluster,
  exec,
  expectOk,
  getWep,
  invoke,
  ipsOfHandle,
  netConf,
  newContainer,
  startAgent,
  startCluster,
} from "./harness.js";

describe("agent request parsing", () => {
  it("splits env -0 entries from stdin at the empty entry", () => {
    const body = Buffer.from('CNI_COMMAND=ADD\0A=b=c\0\0{"cniVersion":"1.0.0"}');
    expect(parseAgentRequest(body)).toEqual({
      env: { CNI_COMMAND: "ADD", A: "b=c" },
      stdin: '{"cniVersion":"1.0.0"}',
    });
    expect(parseAgentRequest(Buffer.from("\0{}"))).toEqual({ env: {}, stdin: "{}" });
  });

  it("names what is wrong with a malformed body", () => {
    expect(() => parseAgentRequest(Buffer.from("CNI_COMMAND=ADD\0{}"))).toThrow(/end-of-environment marker/);
    expect(() => parseAgentRequest(Buffer.from("no-equals\0\0{}"))).toThrow(/not NAME=VALUE: "no-equals"/);
  });
});

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

describe("the calico plugin through the CNI agent", () => {
  let c: Cluster;
  let agent: Agent;
  let logFile: string;
  let n = 0;

  beforeAll(async () => {
    c = await startCluster({ prefix: "cts-cni-agent" });
    logFile = join(c.dir, "cni.log");
    agent = await startAgent(c);
  }, 60_000);

  afterAll(async () => {
    agent?.child.kill("SIGKILL");
    if (agent) await rm(agent.socket, { force: true });
    await c?.stop();
  });

  /** ADD then the checks a runtime relies on; returns the address and who served the call. */
  async function add(id: string, env: Record<string, string> = {}) {
    const ctr = await newContainer("cts-cni-agent-ctr");
    const conf = netConf(c, { log_level: "info", log_file_path: logFile });
    const before = await readFile(logFile, "utf8").catch(() => "");
    const result = expectOk(
      await invoke(c, "calico", { command: "ADD", containerId: id, netns: ctr.path, conf, env }),
    );
    const ip = String((result.ips as { address: string }[])[0]?.address).split("/")[0] ?? "";
    const lines = (await readFile(logFile, "utf8")).slice(before.length);
    const pids = new Set([...lines.matchAll(/\]\[(\d+)\] /g)].map((m) => Number(m[1])));
    const addr = await exec("ip", ["-n", ctr.name, "-j", "addr", "show", "eth0"]);
    return { ctr, conf, ip, pids, containerAddr: addr.stdout };
  }

  async function del(
    id: string,
    ctr: { path: string },
    conf: Record<string, unknown>,
    env: Record<string, string> = {},
  ) {
    expectOk(await invoke(c, "calico", { command: "DEL", containerId: id, netns: ctr.path, conf, env }));
  }

  it("listens on a root-only socket named after the host's network namespace", async () => {
    expect(agent.socket.startsWith(`${AGENT_DIR}/net-`)).toBe(true);
    const { stdout } = await exec("nsenter", [`--net=${c.host.path}`, "readlink", "/proc/self/ns/net"]);
    expect(agent.socket).toBe(`${AGENT_DIR}/net-${stdout.trim().replace(/^net:\[(\d+)\]$/, "$1")}.sock`);
    const mode = (await exec("stat", ["-c", "%a", agent.socket])).stdout.trim();
    expect(mode).toBe("600");
  });

  it("serves ADD and DEL: the address, the workload's interface, the endpoint, the release", async () => {
    const id = `agent-${++n}`;
    const { ctr, conf, ip, pids, containerAddr } = await add(id);
    try {
      expect(pids).toEqual(new Set([agent.child.pid]));
      expect(ip).toMatch(/^10\.77\./);
      expect(containerAddr).toContain(ip);
      expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([ip]);
      const wepName = `${c.node.replaceAll("-", "--")}-cni-${id.replaceAll("-", "--")}-eth0`;
      const wep = await getWep(c, wepName);
      expect(wep?.spec?.ipNetworks).toEqual([`${ip}/32`]);
      const route = await exec("nsenter", [`--net=${c.host.path}`, "ip", "route", "show", `${ip}/32`]);
      expect(route.stdout).toMatch(/dev cali/);
      await del(id, ctr, conf);
      expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
      expect(await getWep(c, wepName)).toBeUndefined();
    } finally {
      await ctr.remove();
    }
  });

  it("serves concurrent ADDs with distinct addresses, and their DELs release them all", async () => {
    const ids = Array.from({ length: 8 }, () => `agent-${++n}`);
    const added = await Promise.all(ids.map((id) => add(id)));
    try {
      for (const a of added) expect(a.pids).toEqual(new Set([agent.child.pid]));
      expect(new Set(added.map((a) => a.ip)).size).toBe(ids.length);
      for (const [i, id] of ids.entries()) expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([added[i]?.ip]);
      await Promise.all(ids.map((id, i) => del(id, added[i]!.ctr, added[i]!.conf)));
      for (const id of ids) expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
    } finally {
      for (const a of added) await a.ctr.remove();
    }
  });

  it("passes the plugin's own failure through: its CNI error on stdout, exit status 1", async () => {
    const ctr = await newContainer("cts-cni-agent-ctr");
    try {
      const conf = netConf(c, { ipam: { type: "calico-ipam", ipv4_pools: ["10.99.0.0/24"] } });
      const run = await invoke(c, "calico", {
        command: "ADD",
        containerId: `agent-${++n}`,
        netns: ctr.path,
        conf,
      });
      expect(run.code).toBe(1);
      expect(run.json?.msg).toMatch(/10\.99\.0\.0\/24/);
    } finally {
      await ctr.remove();
    }
  });

  it("answers a malformed request with 400 and the reason", async () => {
    const out = await exec("curl", [
      "--silent",
      "--write-out",
      "\n%{http_code}",
      "--unix-socket",
      agent.socket,
      "--data-binary",
      "CNI_COMMAND=ADD",
      "http://cni-agent/v1/calico",
    ]);
    expect(out.stdout).toMatch(/end-of-environment marker/);
    expect(out.stdout.trim().split("\n").at(-1)).toBe("400");
  });

  it("is bypassed with CALICO_CNI_AGENT=off: the plugin runs as its own process", async () => {
    const id = `agent-${++n}`;
    const env = { CALICO_CNI_AGENT: "off" };
    const { ctr, conf, ip, pids } = await add(id, env);
    try {
      expect(pids.has(agent.child.pid ?? -1)).toBe(false);
      expect(pids.size).toBe(1);
      expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([ip]);
      await del(id, ctr, conf, env);
      expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
    } finally {
      await ctr.remove();
    }
  });

  it("falls back to its own process when the agent died and left its socket behind", async () => {
    agent.child.kill("SIGKILL");
    await stopped(agent.child);
    expect(existsSync(agent.socket)).toBe(true);
    const id = `agent-${++n}`;
    const { ctr, conf, ip, pids } = await add(id);
    try {
      expect(pids.has(agent.child.pid ?? -1)).toBe(false);
      expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([ip]);
      await del(id, ctr, conf);
      expect(await ipsOfHandle(c, `net1.${id}`)).toEqual([]);
    } finally {
      await ctr.remove();
    }
  });
});
