import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseNetConf } from "../../src/cni/config.js";
import { resolveMtu, waitForReadinessGates } from "../../src/cni/preflight.js";

const dir = mkdtempSync(join(tmpdir(), "cts-cni-pre-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const conf = (extra: object = {}) =>
  parseNetConf(JSON.stringify({ name: "n", type: "calico", ...extra }), "1.0.0");

describe("MTU", () => {
  it("config value, then the MTU file, then 1500", async () => {
    const file = join(dir, "mtu");
    writeFileSync(file, "1410\n");
    expect(await resolveMtu(conf({ mtu: 1300 }), file)).toBe(1300);
    expect(await resolveMtu(conf(), file)).toBe(1410);
    expect(await resolveMtu(conf(), join(dir, "absent"))).toBe(1500);
  });

  it("reads the file named by mtu_file_path (several nodes on one host), /var/lib/calico/mtu by default", async () => {
    const file = join(dir, "node2-mtu");
    writeFileSync(file, "8950");
    expect(conf().mtuFilePath).toBe("/var/lib/calico/mtu");
    expect(await resolveMtu(conf({ mtu_file_path: file }))).toBe(8950);
  });

  it("fails when the file is required but missing, or holds garbage", async () => {
    await expect(resolveMtu(conf({ require_mtu_file: true }), join(dir, "absent"))).rejects.toThrow(
      "failed to read MTU file",
    );
    const bad = join(dir, "bad");
    writeFileSync(bad, "big");
    await expect(resolveMtu(conf(), bad)).rejects.toThrow('does not hold a positive integer: "big"');
  });
});

describe("readiness gates", () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  async function serve(statuses: number[]): Promise<{ url: string; hits: () => number }> {
    let n = 0;
    const srv = createServer((_, res) => {
      res.statusCode = statuses[Math.min(n++, statuses.length - 1)]!;
      res.end();
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/ready`, hits: () => n };
  }

  it("polls until each gate answers 2xx/3xx", async () => {
    const a = await serve([503, 503, 200]);
    const b = await serve([302]);
    await waitForReadinessGates([a.url, b.url], 10, 5_000);
    expect(a.hits()).toBe(3);
    expect(b.hits()).toBe(1);
  });

  it("gives up with code 11 (try again later) naming the gate", async () => {
    const a = await serve([500]);
    await expect(waitForReadinessGates([a.url], 10, 100)).rejects.toMatchObject({
      code: 11,
      message: `readiness gate ${a.url} is not ready`,
    });
  });
});
