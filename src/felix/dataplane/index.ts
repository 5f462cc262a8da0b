export { ClusterRoutesDriver, FELIX_ROUTE_PROTOCOL, felixOwnedPoolTypes } from "./cluster-routes.js";
export type { CommandResult, CommandRunner } from "./exec.js";
export { localRunner } from "./exec.js";
export { InterfaceMonitor } from "./interfaces/monitor.js";
export { InterfaceSysctls, workloadSysctls } from "./interfaces/sysctls.js";
export { desiredIPSets, IpsetsDriver, ipsetName, parseIpsetSave, planIpsets } from "./ipsets/ipsets.js";
export {
  IptablesDriver,
  type IptablesFlavour,
  parseIptablesSave,
  planIptables,
} from "./iptables/driver.js";
export { renderIptablesMatches } from "./iptables/match.js";
export { type IptChain, renderFilterChains } from "./iptables/render.js";
export type { ApplyResult } from "./nft/driver.js";
export { NftablesDriver } from "./nft/driver.js";
export type { NftTable } from "./nft/model.js";
export { renderTable } from "./nft/text.js";
export type { PolicyApplyResult, PolicyBackend } from "./policy-dataplane.js";
export { PolicyDataplane, policyBackendFromConfig } from "./policy-dataplane.js";
export type { RoutesOptions, WorkloadRoute } from "./routes.js";
export { WorkloadRoutesDriver } from "./routes.js";
export type { RenderConfig } from "./rules/config.js";
export { defaultRenderConfig } from "./rules/config.js";
export {
  DEFAULT_FAILSAFE_INBOUND,
  DEFAULT_FAILSAFE_OUTBOUND,
  type FailsafePort,
  parseFailsafePorts,
} from "./rules/failsafe.js";
export { ALL_INTERFACES, resolveHostEndpoints } from "./rules/host-endpoints.js";
export { allocateMarks } from "./rules/marks.js";
export { renderPolicyTable } from "./rules/ruleset.js";
export { DesiredPolicyState } from "./state.js";
export { TunnelConfigError, tunnelOptionsFromConfig } from "./tunnels/config.js";
export { DEFAULT_MTU_FILE, type TunnelLog, TunnelManager, type TunnelOptions } from "./tunnels/manager.js";
export {
  type ClusterRoute,
  computeMtus,
  detectHostMtu,
  IPIP_DEVICE,
  type Mtus,
  planTunnels,
  type TunnelPlan,
  VXLAN_DEVICE,
} from "./tunnels/plan.js";
export { VxlanDriver } from "./tunnels/vxlan-driver.js";
