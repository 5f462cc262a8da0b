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

export { prefixRangeEnd } from "../etcd-settings.js";
