/**
 * The datastore objects of a Docker endpoint: its WorkloadEndpoint (orchestrator and workload
 * `libnetwork`, endpoint = Docker's endpoint ID, in namespace `libnetwork`, as Calico's v3 plugin
 * wrote it) and the labels copied from its container. Pure builders.
 */
import { LABEL_NAMESPACE, LABEL_ORCHESTRATOR } from "../api/defaults.js";
import { API_VERSION } from "../api/kinds.js";
import type { Resource } from "../api/meta.js";
import { workloadEndpointName } from "../api/workload-endpoint-name.js";
import { networkProfile } from "../cni/index.js";
import { LABEL_PREFIX } from "./config.js";
import { hostIfname, NETWORK_IDS_ANNOTATION, ORCHESTRATOR } from "./protocol.js";

export const WEP_NAMESPACE = "libnetwork";

export function endpointKey(node: string, endpointId: string) {
  return {
    kind: "WorkloadEndpoint",
    namespace: WEP_NAMESPACE,
    name: workloadEndpointName({ node, orchestrator: ORCHESTRATOR, endpoint: endpointId }),
  };
}

export interface EndpointParams {
  node: string;
  endpointId: string;
  ipNetworks: string[];
  mac: string;
  profiles: string[];
  labels?: Record<string, string>;
}

export function buildEndpoint(p: EndpointParams): Resource {
  return {
    apiVersion: API_VERSION,
    kind: "WorkloadEndpoint",
    metadata: {
      ...endpointKey(p.node, p.endpointId),
      labels: { ...(p.labels ?? {}), [LABEL_NAMESPACE]: WEP_NAMESPACE, [LABEL_ORCHESTRATOR]: ORCHESTRATOR },
    },
    spec: {
      orchestrator: ORCHESTRATOR,
      workload: ORCHESTRATOR,
      node: p.node,
      endpoint: p.endpointId,
      interfaceName: hostIfname(p.endpointId),
      ipNetworks: p.ipNetworks,
      mac: p.mac,
      profiles: p.profiles,
    },
  };
}

/** `org.projectcalico.label.role=web` → `role=web`; other labels are not Calico's business. */
export function calicoLabels(
  containerLabels: Record<string, string> | null | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(containerLabels ?? {})) {
    if (k.startsWith(LABEL_PREFIX) && k.length > LABEL_PREFIX.length) out[k.slice(LABEL_PREFIX.length)] = v;
  }
  return out;
}

/** The endpoint with the container's labels merged in; Calico's own labels always win. */
export function withContainerLabels(wep: Resource, labels: Record<string, string>): Resource {
  return {
    ...wep,
    metadata: {
      ...wep.metadata,
      labels: {
        ...(wep.metadata.labels ?? {}),
        ...labels,
        [LABEL_NAMESPACE]: WEP_NAMESPACE,
        [LABEL_ORCHESTRATOR]: ORCHESTRATOR,
      },
    },
  };
}

/**
 * The network's profile, named after the Docker network: members carry a label named after it
 * and accept traffic from other members (Calico's default profile for a Docker network).
 */
export function dockerNetworkProfile(networkName: string, networkIds: string[]): Resource {
  return withNetworkIds(networkProfile(networkName, ORCHESTRATOR), networkIds);
}

export function withNetworkIds(profile: Resource, networkIds: string[]): Resource {
  const annotations = {
    ...(profile.metadata.annotations ?? {}),
    [NETWORK_IDS_ANNOTATION]: [...networkIds].sort().join(","),
  };
  return { ...profile, metadata: { ...profile.metadata, annotations } };
}
