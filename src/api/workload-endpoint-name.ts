/**
 * WorkloadEndpoint names are derived from the spec's identifiers: the segments below joined by
 * `-`, with each `-` inside a segment doubled so the name can be split back apart.
 */

export interface WorkloadEndpointIdentifiers {
  node?: string;
  orchestrator?: string;
  workload?: string;
  pod?: string;
  containerID?: string;
  endpoint?: string;
}

type Segment = keyof WorkloadEndpointIdentifiers;

export class WorkloadEndpointNameError extends Error {
  constructor(
    readonly field: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`error with field ${field} = '${value}' (${reason})`);
    this.name = "WorkloadEndpointNameError";
  }
}

function segmentsFor(orchestrator: string): Segment[] {
  switch (orchestrator) {
    case "k8s":
      return ["node", "orchestrator", "pod", "endpoint"];
    case "cni":
      return ["node", "orchestrator", "containerID", "endpoint"];
    case "libnetwork":
      return ["node", "orchestrator", "orchestrator", "endpoint"];
    default:
      return ["node", "orchestrator", "workload", "endpoint"];
  }
}

/**
 * The name Calico requires for a WorkloadEndpoint with these identifiers, e.g.
 * `node1-k8s-my--pod-eth0`. Throws `WorkloadEndpointNameError` when an identifier the name needs
 * is missing or starts or ends with `-`.
 */
export function workloadEndpointName(ids: WorkloadEndpointIdentifiers): string {
  const value = (s: Segment): string => (typeof ids[s] === "string" ? ids[s] : "");
  const parts: string[] = [];
  for (const segment of segmentsFor(value("orchestrator"))) {
    const v = value(segment);
    if (v === "") throw new WorkloadEndpointNameError(segment, v, "field should be assigned");
    if (v.startsWith("-")) throw new WorkloadEndpointNameError(segment, v, "field must not begin with a '-'");
    if (v.endsWith("-")) throw new WorkloadEndpointNameError(segment, v, "field must not end with a '-'");
    parts.push(v.replaceAll("-", "--"));
  }
  return parts.join("-");
}
