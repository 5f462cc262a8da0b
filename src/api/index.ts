/** Public surface of the v3 API: kinds, resource envelope, defaults, validation, conversion. */
export { API_GROUP, API_VERSION, KINDS, type KindInfo, kindInfo, resolveKindName } from "./kinds.js";
export { formatResourceKey, type ObjectMeta, type Resource, type ResourceKey } from "./meta.js";
