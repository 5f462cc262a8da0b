import { EtcdKV } from "../../src/datastore/etcd/etcd-kv.js";
import { startEtcd } from "../support/etcd.js";
import { kvContract } from "./kv-contract.js";

kvContract("etcd", async () => {
  const etcd = await startEtcd();
  const kv = new EtcdKV({ endpoints: [etcd.endpoint] });
  return {
    kv,
    teardown: async () => {
      await kv.close();
      await etcd.stop();
    },
  };
});
