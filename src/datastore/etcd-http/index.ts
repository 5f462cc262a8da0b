/** The etcd v3 JSON-gateway client: EtcdHttpKV, a KVStore for short-lived processes. */
export { EtcdHttpKV } from "./etcd-http-kv.js";
export { parseEndpoint } from "./transport.js";
