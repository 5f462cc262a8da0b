export { type DaemonDataplane, type DataplaneFactory, policyDataplaneFactory } from "./dataplane.js";
export {
  DEFAULT_CONFIG_FILE,
  EXIT_RESTART,
  type FelixExit,
  type FelixHandle,
  type FelixOptions,
  localFelixConfig,
  startFelix,
} from "./felix.js";
export { FelixMetrics } from "./metrics.js";
export { FelixConfigError, type FelixParams, parseFelixParams } from "./params.js";
