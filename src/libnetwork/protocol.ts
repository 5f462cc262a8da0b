/**
 * Docker's remote driver protocol (libnetwork `NetworkDriver` and `IpamDriver`): request shapes,
 * Calico's fixed names, and the pure checks Calico's plugin applied to what Docker sends.
 */

export const NETWORK_DRIVER = "NetworkDriver";
export const IPAM_DRIVER = "IpamDriver";
export const CONTENT_TYPE = "application/vnd.docker.plugins.v1.1+json";

export const POOL_ID_V4 = "CalicoPoolIPv4";
export const POOL_ID_V6 = "CalicoPoolIPv6";
export const LOCAL_ADDRESS_SPACE = "CalicoLocalAddressSpace";
export const GLOBAL_ADDRESS_SPACE = "CalicoGlobalAddressSpace";
/** Gateways Calico's IPAM hands Docker so it never asks for a gateway address. */
export const FAKE_GATEWAY_V4 = "0.0.0.0/0";
export const FAKE_GATEWAY_V6 = "::/0";
export const GATEWAY_REQUEST = "com.docker.network.gateway";

export const ORCHESTRATOR = "libnetwork";
/** Handles of the addresses this driver hands out start with this. */
export const HANDLE_PREFIX = "libnetwork.";
/**
 * Marks the profiles this driver created, listing the Docker networks (one per daemon: networks
 * are local to each Docker host) that use them; the last network's removal deletes the profile.
 */
export const NETWORK_IDS_ANNOTATION = "libnetwork.projectcalico.org/network-ids";

/** The Docker networks recorded on a profile; undefined when the driver did not create it. */
export function networkIdsOf(annotations: Record<string, string> | undefined): string[] | undefined {
  const text = annotations?.[NETWORK_IDS_ANNOTATION];
  if (text === undefined) return undefined;
  return text.split(",").filter((s) => s !== "");
}

/** A request the driver refuses; the message goes back to Docker (and the user) verbatim. */
export class DriverError extends Error {}

export interface IPAMData {
  AddressSpace?: string;
  Pool?: string;
  Gateway?: string;
  AuxAddresses?: Record<string, string>;
}

export interface CreateNetworkRequest {
  NetworkID: string;
  Options?: Record<string, unknown> | null;
  IPv4Data?: IPAMData[] | null;
  IPv6Data?: IPAMData[] | null;
}

export interface EndpointInterface {
  Address?: string;
  AddressIPv6?: string;
  MacAddress?: string;
}

export interface CreateEndpointRequest {
  NetworkID: string;
  EndpointID: string;
  Interface?: EndpointInterface | null;
  Options?: Record<string, unknown> | null;
}

export interface EndpointRequest {
  NetworkID: string;
  EndpointID: string;
}

export interface RequestPoolRequest {
  AddressSpace?: string;
  Pool?: string;
  SubPool?: string;
  Options?: Record<string, string> | null;
  V6?: boolean;
}

export interface RequestAddressRequest {
  PoolID: string;
  Address?: string;
  Options?: Record<string, string> | null;
}

export interface ReleaseAddressRequest {
  PoolID: string;
  Address?: string;
}

const ENABLE_IPV6 = "com.docker.network.enable_ipv6";
const GENERIC = "com.docker.network.generic";
/** The `docker network create` flag behind each option key Docker may send. */
const FLAG_OF: Record<string, string> = {
  "com.docker.network.internal": "--internal",
  "com.docker.network.enable_ipv6": "--ipv6",
};

function isSet(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (value !== null && typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

/**
 * Calico's network driver accepts `--ipv6` and nothing else: `-o key=value` options (the generic
 * map) and flags such as `--internal` are refused, naming them.
 */
export function checkNetworkOptions(options: Record<string, unknown> | null | undefined): void {
  for (const [key, value] of Object.entries(options ?? {})) {
    if (key === ENABLE_IPV6 || !isSet(value)) continue;
    if (key === GENERIC) {
      const names = Object.keys(value as Record<string, unknown>).sort();
      throw new DriverError(
        `Calico driver does not support the ${names.length === 1 ? "flag" : "flags"} ${names.join(", ")}.`,
      );
    }
    throw new DriverError(`Calico driver does not support the flag ${FLAG_OF[key] ?? key}.`);
  }
}

/**
 * The network's pools must come from calico-ipam, recognisable by the fake gateway it returns
 * (another IPAM driver gives a real gateway address) and by Calico's address spaces.
 */
export function checkCalicoIpam(req: CreateNetworkRequest): void {
  const spaces = [LOCAL_ADDRESS_SPACE, GLOBAL_ADDRESS_SPACE];
  const check = (data: IPAMData[] | null | undefined, gateway: string) => {
    for (const d of data ?? []) {
      if (d.Gateway !== gateway || !spaces.includes(d.AddressSpace ?? "")) {
        throw new DriverError(
          "Non-Calico IPAM driver is used: networks with --driver calico need --ipam-driver calico-ipam.",
        );
      }
    }
  };
  check(req.IPv4Data, FAKE_GATEWAY_V4);
  check(req.IPv6Data, FAKE_GATEWAY_V6);
}

/** Host-side interface name Felix recognises (`cali` + 11 characters of the endpoint ID). */
export function hostIfname(endpointId: string): string {
  return `cali${endpointId.slice(0, 11)}`;
}

/** The end Docker moves into the container and renames. */
export function tempIfname(endpointId: string): string {
  return `temp${endpointId.slice(0, 11)}`;
}

/** Docker's endpoint and network IDs are 64 hex characters; anything else is refused early. */
export function checkId(what: string, id: unknown): string {
  if (typeof id !== "string" || !/^[0-9a-f]{12,64}$/.test(id))
    throw new DriverError(`invalid ${what} ${JSON.stringify(id)}: expected Docker's hexadecimal ID`);
  return id;
}

/** A locally administered unicast MAC from random bytes. */
export function macFromBytes(bytes: Uint8Array): string {
  const b = [...bytes.slice(0, 6)];
  b[0] = ((b[0] ?? 0) & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}
