/**
 * A layer-2 fabric between hosts that are network namespaces: a bridge in the fabric namespace
 * and one veth per host (`eth0` inside the host), each host given its address. Used by the lab
 * and by the tests that need several hosts on one link.
 */
import { runOk } from "../lib/exec.js";

export interface FabricHost {
  netns: string;
  /** Address with prefix length, e.g. `172.30.0.1/24`. */
  address: string;
}

export async function createBridge(fabricNs: string, gateway?: string): Promise<void> {
  await runOk("ip", ["-n", fabricNs, "link", "add", "br0", "type", "bridge"]);
  await runOk("ip", ["-n", fabricNs, "link", "set", "br0", "up"]);
  if (gateway) await runOk("ip", ["-n", fabricNs, "addr", "add", gateway, "dev", "br0"]);
}

/** Plugs a host into the bridge as port `port` (the fabric-side link's name). */
export async function attachHost(fabricNs: string, port: string, host: FabricHost): Promise<void> {
  const link = ["link", "add", "name", port, "type", "veth", "peer", "name", "eth0", "netns", host.netns];
  await runOk("ip", ["-n", fabricNs, ...link]);
  await runOk("ip", ["-n", fabricNs, "link", "set", port, "master", "br0", "up"]);
  await runOk("ip", ["-n", host.netns, "addr", "add", host.address, "dev", "eth0"]);
  await runOk("ip", ["-n", host.netns, "link", "set", "eth0", "up"]);
  await runOk("ip", ["-n", host.netns, "link", "set", "lo", "up"]);
}
