/** Public surface of the v3 API: kinds, resource envelope, defaults, validation, conversion. */

export { canonicalize } from "./canonical.js";
export { applyDefaults, LABEL_NAMESPACE, LABEL_ORCHESTRATOR, LABEL_TIER } from "./defaults.js";
export { canonicalDuration, formatGoDuration, parseGoDuration } from "./duration.js";
export {
  convertKubernetesNetworkPolicy,
  convertKubernetesNetworkPolicyLenient,
  type DroppedRule,
  KNP_NAME_PREFIX,
  KNP_ORDER,
  KubernetesPolicyConversionError,
} from "./k8s/convert.js";
export { API_GROUP, API_VERSION, KINDS, type KindInfo, kindInfo, resolveKindName } from "./kinds.js";
export { formatResourceKey, type ObjectMeta, type Resource, type ResourceKey } from "./meta.js";
export { type PoolRef, poolOverlapErrors, poolsOverlap } from "./pools.js";
export {
  DEFAULT_TIER_NAME,
  DEFAULT_TIER_ORDER,
  nonEmptyTierDeleteMessage,
  PROTECTED_TIERS,
  type ProtectedTier,
  protectedTier,
  protectedTierDeleteMessage,
} from "./tiers.js";
export type * from "./types/index.js";
export { findUnknownFields, unknownFieldMessage } from "./unknown-fields.js";
export { formatValidationErrors, type ValidationError, validate } from "./validation/index.js";
export { validateUpdate } from "./validation/update.js";
export {
  type ASNumber,
  canonicalASNumber,
  canonicalPort,
  canonicalProtocol,
  formatPort,
  isNamedPort,
  type ParseResult,
  type Port,
  type PortValue,
  PROTOCOL_NAMES,
  type Protocol,
  parseASNumber,
  parsePort,
  portError,
  protocolError,
  protocolNumber,
  protocolSupportsPorts,
} from "./values.js";
export {
  type WorkloadEndpointIdentifiers,
  WorkloadEndpointNameError,
  workloadEndpointName,
  workloadEndpointNameErrors,
} from "./workload-endpoint-name.js";
