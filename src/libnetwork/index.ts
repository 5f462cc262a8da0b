/** Public surface of the Docker (libnetwork) integration: the `calico` and `calico-ipam` drivers. */
export { ConfigError, LABEL_PREFIX, type LibnetworkConfig, loadConfig } from "./config.js";
export { IpamDriver } from "./ipam-driver.js";
export { NetworkDriver } from "./network-driver.js";
export { type Plugin, startPlugin } from "./plugin.js";
export * from "./protocol.js";
export { IPAM_SOCKET, NETWORK_SOCKET } from "./server.js";
