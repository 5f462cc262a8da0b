import { MemoryKV } from "../../src/datastore/memory/memory-kv.js";
import { kvContract } from "./kv-contract.js";

kvContract("memory", async () => {
  const kv = new MemoryKV();
  return { kv, teardown: () => kv.close() };
});
