import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdServer, startEtcd } from "./etcd.js";

describe("etcd test harness", () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd.stop();
  });

  it("serves a healthy etcd on a loopback port", async () => {
    expect(etcd.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${etcd.endpoint}/health`);
    expect(((await res.json()) as { health: string }).health).toBe("true");
  });
});
