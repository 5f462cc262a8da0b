/** The multi-node lab: a Calico cluster in network namespaces on one host. */

export { attachHost, createBridge, type FabricHost } from "./fabric.js";
export { Lab } from "./lab.js";
export { POD_CIDR } from "./nodes.js";
export { LabError } from "./processes.js";
export { type LabNode, type LabPaths, type LabPod, type LabState, labPaths } from "./state.js";
