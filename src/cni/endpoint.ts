/**
 * The datastore objects the calico plugin writes: the WorkloadEndpoint that tells Felix about the
 * interface, and (for plain CNI networks) the Profile named after the network. Pure builders;
 * the plugin does the reads and writes.
 */
// Individual api modules rather than its index: the index costs ~60 ms to load, paid on every pod.
import { LABEL_NAMESPACE, LABEL_ORCHESTRATOR } from "../api/defaults.js";
import { API_VERSION } from "../api/kinds.js";
import type { Resource } from "../api/meta.js";
import { workloadEndpointName } from "../api/workload-endpoint-name.js";
import { formatIP, parseCIDR } from "../lib/net.js";
import type { WorkloadIdentity } from "./identity.js";

export interface EndpointSpec {
  orchestrator: string;
  node: string;
  containerID: string;
  pod?: string;
  endpoint: string;
  ipNetworks: string[];
  profiles: string[];
  interfaceName?: string;
  mac?: string;
}

export function endpointName(id: WorkloadIdentity): string {
  return workloadEndpointName({
    node: id.node,
    orchestrator: id.orchestrator,
    containerID: id.containerId,
    pod: id.pod,
    endpoint: id.endpoint,
  });
}

/**
 * The name with the interface segment left off (`node1-k8s-my--pod-`), to find this workload's
 * endpoint whatever its interface is called. Prefix matches can over-match (`my-pod-1`), so
 * candidates are confirmed with `sameWorkload`.
 */
export function endpointNamePrefix(id: WorkloadIdentity): string {
  const workload = id.orchestrator === "k8s" ? id.pod : id.containerId;
  return `${[id.node, id.orchestrator, workload].map((s) => s.replaceAll("-", "--")).join("-")}-`;
}

/** `10.65.79.5/26` → `10.65.79.5/32`: each workload address is a host route of its own. */
export function hostCIDR(address: string): string {
  const cidr = parseCIDR(address, { allowBareIP: true });
  if (!cidr) throw new Error(`IPAM returned an invalid address "${address}"`);
  return `${formatIP({ family: cidr.family, value: cidr.address })}/${cidr.family === 4 ? 32 : 128}`;
}

/** `kns.<namespace>` under Kubernetes policy, otherwise the network's own profile. */
export function endpointProfiles(id: WorkloadIdentity, networkName: string, policyType: string): string[] {
  return id.orchestrator === "k8s" && policyType === "k8s" ? [`kns.${id.namespace}`] : [networkName];
}

/**
 * A new WorkloadEndpoint, or `existing` brought up to date. The namespace and orchestrator labels
 * are always set, overriding whatever was there, as Calico's client does on every write.
 */
export function buildWorkloadEndpoint(
  id: WorkloadIdentity,
  spec: EndpointSpec,
  existing?: Resource,
): Resource {
  const labels = {
    ...(existing?.metadata.labels ?? {}),
    [LABEL_NAMESPACE]: id.namespace,
    [LABEL_ORCHESTRATOR]: id.orchestrator,
  };
  const body: Record<string, unknown> = {
    orchestrator: spec.orchestrator,
    node: spec.node,
    containerID: spec.containerID,
  };
  if (spec.pod) body.pod = spec.pod;
  body.endpoint = spec.endpoint;
  body.ipNetworks = spec.ipNetworks;
  body.profiles = spec.profiles;
  if (spec.interfaceName) body.interfaceName = spec.interfaceName;
  if (spec.mac) body.mac = spec.mac;
  return {
    apiVersion: API_VERSION,
    kind: "WorkloadEndpoint",
    metadata: { ...(existing?.metadata ?? {}), name: endpointName(id), namespace: id.namespace, labels },
    spec: { ...(existing?.spec ?? {}), ...body },
  };
}

/** Whether a stored endpoint belongs to this workload, whatever its interface name. */
export function sameWorkload(wep: Resource, id: WorkloadIdentity): boolean {
  const s = (wep.spec ?? {}) as Record<string, unknown>;
  if (s.node !== id.node || s.orchestrator !== id.orchestrator) return false;
  return id.orchestrator === "k8s" ? s.pod === id.pod : s.containerID === id.containerId;
}

/**
 * The profile Calico creates for a plain CNI network: members get a label named after the
 * network and accept traffic from other members (any source for Kubernetes workloads).
 */
export function networkProfile(networkName: string, orchestrator: string): Resource {
  const ingress =
    orchestrator === "k8s"
      ? [{ action: "Allow" }]
      : [{ action: "Allow", source: { selector: `has(${networkName})` } }];
  return {
    apiVersion: API_VERSION,
    kind: "Profile",
    metadata: { name: networkName },
    spec: { ingress, egress: [{ action: "Allow" }], labelsToApply: { [networkName]: "" } },
  };
}
