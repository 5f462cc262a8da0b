/**
 * Public surface of the CNI component for other integrations that wire workloads the same way
 * (the Docker libnetwork driver): the host side of a workload interface and Calico's profile for
 * a network, and the CNI agent calico-node runs. The plugins themselves are entered through main.ts.
 */
export { AGENT_DIR, agentSocketPath, type CniAgent, startCniAgent } from "./agent.js";
export { type CniAgentThread, startCniAgentThread } from "./agent-thread.js";
export { type HostVethPlan, removeHostLink, setupHostVethPair } from "./dataplane.js";
export { hostCIDR, networkProfile } from "./endpoint.js";
export { EXPECTED_HOST_LINK_LOCAL, families, HOST_MAC, IPV4_GATEWAY, isV6 } from "./ipcmd.js";
