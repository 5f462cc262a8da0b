/** The envelope schema of every kind: `kind, apiVersion, metadata, spec[, status]` in Go order. */
import { bgpConfigurationSpec, bgpFilterSpec, bgpPeerSpec } from "./bgp.js";
import {
  clusterInformationSpec,
  kubeControllersConfigurationSpec,
  kubeControllersConfigurationStatus,
} from "./cluster.js";
import { objectMeta } from "./common.js";
import { always, type FieldSpec, type ObjectType, obj, opt, ptr, str } from "./dsl.js";
import {
  calicoNodeStatusSpec,
  calicoNodeStatusStatus,
  hostEndpointSpec,
  nodeSpec,
  nodeStatus,
  workloadEndpointSpec,
} from "./endpoints.js";
import { felixConfigurationSpec } from "./felix.js";
import { ipamConfigurationSpec, ipPoolSpec, ipPoolStatus, ipReservationSpec } from "./ipam.js";
import {
  globalNetworkPolicySpec,
  networkPolicySpec,
  networkSetSpec,
  profileSpec,
  stagedGlobalNetworkPolicySpec,
  stagedKubernetesNetworkPolicySpec,
  stagedNetworkPolicySpec,
  tierSpec,
  tierStatus,
} from "./policy.js";

interface KindShape {
  spec: ObjectType;
  /** Status field as Go declares it (pointer, or a struct that is always written). */
  status?: FieldSpec;
}

const shapes: Record<string, KindShape> = {
  IPPool: { spec: ipPoolSpec, status: ptr("status", ipPoolStatus) },
  IPReservation: { spec: ipReservationSpec },
  IPAMConfiguration: { spec: ipamConfigurationSpec },
  BGPConfiguration: { spec: bgpConfigurationSpec },
  BGPPeer: { spec: bgpPeerSpec },
  BGPFilter: { spec: bgpFilterSpec },
  FelixConfiguration: { spec: felixConfigurationSpec },
  ClusterInformation: { spec: clusterInformationSpec },
  Node: { spec: nodeSpec, status: always("status", nodeStatus) },
  HostEndpoint: { spec: hostEndpointSpec },
  WorkloadEndpoint: { spec: workloadEndpointSpec },
  Profile: { spec: profileSpec },
  NetworkPolicy: { spec: networkPolicySpec },
  GlobalNetworkPolicy: { spec: globalNetworkPolicySpec },
  StagedNetworkPolicy: { spec: stagedNetworkPolicySpec },
  StagedGlobalNetworkPolicy: { spec: stagedGlobalNetworkPolicySpec },
  StagedKubernetesNetworkPolicy: { spec: stagedKubernetesNetworkPolicySpec },
  NetworkSet: { spec: networkSetSpec },
  GlobalNetworkSet: { spec: networkSetSpec },
  Tier: { spec: tierSpec, status: always("status", tierStatus) },
  KubeControllersConfiguration: {
    spec: kubeControllersConfigurationSpec,
    status: always("status", kubeControllersConfigurationStatus),
  },
  CalicoNodeStatus: { spec: calicoNodeStatusSpec, status: always("status", calicoNodeStatusStatus) },
};

const envelopes = new Map<string, ObjectType>();
for (const [kind, shape] of Object.entries(shapes)) {
  const fields: FieldSpec[] = [
    opt("kind", str()),
    opt("apiVersion", str()),
    always("metadata", objectMeta),
    always("spec", shape.spec),
  ];
  if (shape.status) fields.push(shape.status);
  envelopes.set(kind, obj(fields));
}

/** The full schema of a resource of `kind`, or undefined for kinds this API does not know. */
export function resourceSchema(kind: string): ObjectType | undefined {
  return envelopes.get(kind);
}

export * from "./dsl.js";
