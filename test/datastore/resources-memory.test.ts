import { MemoryKV } from "../../src/datastore/memory/memory-kv.js";
import { resourceStoreContract } from "./resource-contract.js";

resourceStoreContract("memory", async () => {
  const kv = new MemoryKV();
  return { kv, teardown: () => kv.close() };
});
