import { EtcdHttpKV } from "../../src/datastore/etcd-http/index.js";
import { startEtcd } from "../support/etcd.js";
import { resourceStoreContract } from "./resource-contract.js";

resourceStoreContract("etcd JSON gateway", async () => {
  const etcd = await startEtcd();
  const kv = new EtcdHttpKV({ endpoints: [etcd.endpoint] });
  return {
    kv,
    teardown: async () => {
      await kv.close();
      await etcd.stop();
    },
  };
});
