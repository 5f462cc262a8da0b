/** BGP for calico-ts: BIRD 2 configuration from Calico's resources, and BIRD control. */
export { type BirdProcess, type BirdProcessOptions, startBird } from "./bird-process.js";
export { BirdClient, BirdError, type BirdProtocol, parseProtocols } from "./birdc.js";
export { type ConfdHandle, type ConfdOptions, startConfd } from "./confd.js";
export type { BgpInputs, Family, NodeInfo, Session } from "./model.js";
export { renderBirdConfig } from "./render.js";
export { computeSessions, globalBgp, hashedRouterId, nodeInfo, routerId } from "./sessions.js";
