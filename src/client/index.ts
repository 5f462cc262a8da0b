/** Public surface of the client layer: the write pipeline and start-of-day initialisation. */
export { CalicoClient, type CalicoClientOptions, type DeleteOptions } from "./client.js";
export { ValidationFailedError } from "./errors.js";
export {
  ensureInitialized,
  type InitializeOptions,
  mergeClusterTypes,
  newClusterGUID,
  updatedClusterSpec,
} from "./initialize.js";
export { defaultAndValidate, prepareForWrite } from "./prepare.js";
export { listDefaults, readDefaults, TIERED_POLICY_KINDS } from "./read-defaults.js";
