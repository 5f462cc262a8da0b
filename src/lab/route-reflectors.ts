/**
 * `calico-lab up --route-reflectors R`: the first R nodes become in-cluster route reflectors and
 * the node-to-node mesh is turned off, configured the way a Calico user does it — through the
 * datastore, so each node's confd renders the sessions: the reflectors' Node resources carry
 * `bgp.routeReflectorClusterID` and the label `route-reflector=true`, one BGPPeer peers every node
 * with the nodes so labelled, and BGPConfiguration `default` sets `nodeToNodeMeshEnabled: false`.
 * Each node then has R sessions instead of N-1 (a reflector has N-1).
 */
import type { Resource } from "../api/index.js";
import { withClient } from "./datastore.js";
import { DEFAULT_NETWORK, type LabNetwork, usesBgp } from "./network.js";
import { LabError } from "./processes.js";
import type { LabPaths } from "./state.js";

export const RR_LABEL = "route-reflector";
/** All reflectors share one cluster ID, so they do not reflect each other's routes back. */
export const RR_CLUSTER_ID = "244.0.0.1";
export const RR_PEER = "peer-with-route-reflectors";

const API = "projectcalico.org/v3";

/** Rejects a count that cannot work, before the lab makes anything. */
export function checkRouteReflectors(
  count: number,
  nodes: number,
  network: LabNetwork = DEFAULT_NETWORK,
): void {
  if (count === 0) return;
  if (!Number.isInteger(count) || count < 0 || count > nodes)
    throw new LabError(
      `--route-reflectors must be between 0 and the number of nodes (${nodes}), not ${count}`,
    );
  if (!usesBgp(network))
    throw new LabError("--route-reflectors needs BGP; --encap vxlan runs no BGP to reflect");
}

/** The reflectors' names: the first `count` nodes. */
export function routeReflectorNames(nodeNames: readonly string[], count: number): string[] {
  return nodeNames.slice(0, count);
}

/** The resources that make `reflectors` the cluster's route reflectors. */
export function routeReflectorResources(reflectors: readonly string[]): Resource[] {
  return [
    {
      apiVersion: API,
      kind: "BGPConfiguration",
      metadata: { name: "default" },
      spec: { nodeToNodeMeshEnabled: false },
    },
    {
      apiVersion: API,
      kind: "BGPPeer",
      metadata: { name: RR_PEER },
      spec: { nodeSelector: "all()", peerSelector: `${RR_LABEL} == 'true'` },
    },
    // Written before the node starts: calico-node's start-up keeps the labels and the cluster ID
    // of a Node that exists and adds its addresses.
    ...reflectors.map((name) => ({
      apiVersion: API,
      kind: "Node",
      metadata: { name, labels: { [RR_LABEL]: "true" } },
      spec: { bgp: { routeReflectorClusterID: RR_CLUSTER_ID } },
    })),
  ] as unknown as Resource[];
}

export async function configureRouteReflectors(
  paths: LabPaths,
  reflectors: readonly string[],
): Promise<void> {
  await withClient(paths, async (client) => {
    for (const r of routeReflectorResources(reflectors)) await client.create(r);
  });
}
