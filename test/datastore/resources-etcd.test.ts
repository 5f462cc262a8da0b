import { EtcdKV } from "../../src/datastore/etcd/etcd-kv.js";
import { startEtcd } from "../support/etcd.js";
import { resourceStoreContract } from "./resource-contract.js";

resourceStoreContract("etcd", async () => {
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
