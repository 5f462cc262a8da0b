import { EtcdHttpKV } from "../../src/datastore/etcd-http/index.js";
import { startEtcd } from "../support/etcd.js";
import { kvContract } from "./kv-contract.js";

kvContract("etcd JSON gateway", async () => {
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
