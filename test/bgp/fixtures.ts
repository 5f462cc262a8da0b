import type { Resource } from "../../src/api/index.js";

const API = "projectcalico.org/v3";

export function node(
  name: string,
  ipv4: string,
  over: Record<string, unknown> = {},
  labels: Record<string, string> = {},
): Resource {
  return {
    apiVersion: API,
    kind: "Node",
    metadata: { name, labels },
    spec: { bgp: { ipv4Address: ipv4, ...over } },
  } as unknown as Resource;
}

export function peer(name: string, spec: Record<string, unknown>): Resource {
  return { apiVersion: API, kind: "BGPPeer", metadata: { name }, spec } as unknown as Resource;
}

export function bgpConfig(name: string, spec: Record<string, unknown>): Resource {
  return { apiVersion: API, kind: "BGPConfiguration", metadata: { name }, spec } as unknown as Resource;
}

export function pool(cidr: string, spec: Record<string, unknown> = {}): Resource {
  return {
    apiVersion: API,
    kind: "IPPool",
    metadata: { name: cidr.replace(/[./]/g, "-") },
    spec: { cidr, ipipMode: "Never", vxlanMode: "Never", ...spec },
  } as unknown as Resource;
}
