/** Wires the drivers to a datastore, the Docker API and the plugin sockets. */
import type { ResourceStore } from "../datastore/index.js";
import type { Logger } from "../lib/log.js";
import type { LibnetworkConfig } from "./config.js";
import { DockerApi } from "./docker-api.js";
import { IpamDriver } from "./ipam-driver.js";
import { NetworkDriver } from "./network-driver.js";
import { ipamRoutes, networkRoutes, type PluginServer, startServer } from "./server.js";

export interface Plugin {
  network: NetworkDriver;
  ipam: IpamDriver;
  server: PluginServer;
  /** Stops serving and waits for background work; the store stays open (the caller owns it). */
  close(): Promise<void>;
}

export async function startPlugin(
  config: LibnetworkConfig,
  store: ResourceStore,
  log: Logger,
): Promise<Plugin> {
  const network = new NetworkDriver(store, config, new DockerApi(config.dockerSocket), log);
  const ipam = new IpamDriver(store, config.nodename, log);
  const server = await startServer(config.pluginDir, networkRoutes(network), ipamRoutes(ipam), log);
  return {
    network,
    ipam,
    server,
    async close() {
      await server.close();
      await network.idle();
    },
  };
}
