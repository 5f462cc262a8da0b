/** Conversions between etcd's protobuf shapes and the KV contract's plain strings. */
import type { IKeyValue } from "etcd3";
import type { KeyValue } from "../kv.js";

export function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString("utf8"),
    value: kv.value.toString("utf8"),
    modRevision: kv.mod_revision,
    createRevision: kv.create_revision,
    version: kv.version,
  };
}

/** The end of the key range holding every key that starts with `prefix` (etcd's rule). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  // An empty (or all-0xff) prefix covers everything: etcd spells "to the end" as a single NUL.
  return Buffer.from([0]);
}
