/** Everything Felix reads from the datastore, read once: the trace's input. */
import { felixSources, type KVStore } from "../../datastore/index.js";
import type { CalcUpdate } from "../calc/index.js";

/**
 * One consistent list (a single revision) of every Felix source, decoded as Felix's syncer
 * decodes it; values that do not decode are left out, as the syncer treats them as deleted.
 */
export async function readFelixSnapshot(kv: KVStore): Promise<CalcUpdate[]> {
  const out: CalcUpdate[] = [];
  let revision: string | undefined;
  for (const source of felixSources()) {
    const list = await kv.list(source.prefix, revision ? { revision } : {});
    revision ??= list.revision;
    for (const pair of list.kvs) {
      let value: unknown;
      try {
        value = source.decode(pair);
      } catch {
        continue;
      }
      if (value !== undefined) out.push({ kind: source.name, key: pair.key, value });
    }
    for (const s of source.synthetic?.() ?? []) out.push({ kind: source.name, key: s.key, value: s.value });
  }
  return out;
}
