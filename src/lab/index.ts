/** The multi-node lab: a Calico cluster in network namespaces on one host. */

export { attachHost, createBridge, type FabricHost } from "./fabric.js";
export { Lab, LabError, POD_CIDR } from "./lab.js";
export { type LabNode, type LabPaths, type LabPod, type LabState, labPaths } from "./state.js";
