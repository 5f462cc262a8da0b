/** calico-node: start-up, then Felix, the confd role and BIRD under supervision. */
export {
  AutodetectError,
  chooseAddress,
  type InterfaceAddrs,
  type Method,
  parseMethod,
} from "./autodetect.js";
export { healthCheck } from "./health.js";
export { type NodePaths, nodePaths } from "./paths.js";
export { type RunningNode, runNode } from "./run.js";
export {
  DEFAULT_NODENAME_FILE,
  defaultIPv6Pool,
  defaultPool,
  nodeNameFrom,
  randomUlaCidr,
  runStartup,
  StartupError,
  type StartupResult,
} from "./startup.js";
export {
  candidatePools,
  derivedVtepMac,
  reconcileTunnelAddresses,
  TUNNEL_TYPES,
  type TunnelKind,
  tunnelHandle,
  watchTunnelAddresses,
} from "./tunnel-addrs.js";
