/**
 * Fabrics between hosts that are network namespaces: bridges in a fabric namespace and one veth
 * per host (`eth0` inside the host), each host given its address. With several bridges and
 * forwarding on, the fabric namespace is the router between subnets. Used by the lab and by the
 * tests that need several hosts on one link.
 */
import { runOk } from "../lib/exec.js";

export interface FabricHost {
  netns: string;
  /** Address with prefix length, e.g. `172.30.0.1/24`. */
  address: string;
}

export interface LinkOptions {
  bridge?: string;
  mtu?: number;
}

export async function createBridge(
  fabricNs: string,
  gateway?: string,
  opts: LinkOptions = {},
): Promise<void> {
  const bridge = opts.bridge ?? "br0";
  await runOk("ip", ["-n", fabricNs, "link", "add", bridge, "type", "bridge"]);
  if (opts.mtu) await runOk("ip", ["-n", fabricNs, "link", "set", bridge, "mtu", String(opts.mtu)]);
  await runOk("ip", ["-n", fabricNs, "link", "set", bridge, "up"]);
  if (gateway) await runOk("ip", ["-n", fabricNs, "addr", "add", gateway, "dev", bridge]);
}

/** Makes the fabric namespace route between its bridges. */
export async function enableRouting(fabricNs: string): Promise<void> {
  await runOk("ip", ["netns", "exec", fabricNs, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
}

/** Plugs a host into a bridge as port `port` (the fabric-side link's name). */
export async function attachHost(
  fabricNs: string,
  port: string,
  host: FabricHost,
  opts: LinkOptions = {},
): Promise<void> {
  const mtu = opts.mtu ? ["mtu", String(opts.mtu)] : [];
  const link = [
    "link",
    "add",
    "name",
    port,
    ...mtu,
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    ...mtu,
    "netns",
    host.netns,
  ];
  await runOk("ip", ["-n", fabricNs, ...link]);
  await runOk("ip", ["-n", fabricNs, "link", "set", port, "master", opts.bridge ?? "br0", "up"]);
  await runOk("ip", ["-n", host.netns, "addr", "add", host.address, "dev", "eth0"]);
  await runOk("ip", ["-n", host.netns, "link", "set", "eth0", "up"]);
  await runOk("ip", ["-n", host.netns, "link", "set", "lo", "up"]);
}
