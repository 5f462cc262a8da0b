/** A watch on a member that loses quorum is cancelled ("no leader") rather than left silent. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatastoreUnavailableError } from "../../src/datastore/errors.js";
import { EtcdKV } from "../../src/datastore/etcd/etcd-kv.js";
import { collectWatch, eventually } from "../support/datastore.js";
import { type EtcdCluster, type EtcdMember, startEtcdCluster } from "../support/etcd-cluster.js";

describe("EtcdKV watch on a member that loses quorum", () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster();
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it("ends with DatastoreUnavailableError naming the missing leader", async () => {
    const [m1, m2, m3] = cluster.members as [EtcdMember, EtcdMember, EtcdMember];
    const kv = new EtcdKV({ endpoints: [m3.endpoint], requestTimeoutMs: 2_000 });
    await kv.put("/calico/q/a", "1");
    const w = collectWatch(kv, "/calico/q/", (await kv.list("/calico/q/")).revision);
    await kv.put("/calico/q/b", "2");
    await eventually(() => expect(w.events).toHaveLength(1));
    await m1.kill();
    await m2.kill();
    await eventually(() => expect(w.errors).toHaveLength(1), 20_000, 100);
    expect(w.errors[0]).toBeInstanceOf(DatastoreUnavailableError);
    expect(w.errors[0]!.message).toContain("no leader");
    await expect(kv.put("/calico/q/c", "3")).rejects.toBeInstanceOf(DatastoreUnavailableError);
    await w.close();
    await kv.close();
  }, 40_000);
});
