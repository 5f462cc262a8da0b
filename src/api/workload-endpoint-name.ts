/**
 * WorkloadEndpoint names are derived from the spec's identifiers: the segments below joined by
 * `-`, with each `-` inside a segment doubled so the name can be split back apart.
 */
import type { ValidationError } from "./validation/errors.js";

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

/**
 * Why `name` cannot be stored for an endpoint with `spec`'s identifiers: an identifier the name
 * needs is missing or malformed, or the name is not the derived one. An empty name is fine (the
 * client derives it). Calico's client checks this before validating; its validator does not.
 */
export function workloadEndpointNameErrors(
  name: unknown,
  spec: WorkloadEndpointIdentifiers,
): ValidationError[] {
  let expected: string;
  try {
    expected = workloadEndpointName(spec);
  } catch (err) {
    if (!(err instanceof WorkloadEndpointNameError)) throw err;
    return [{ field: `spec.${err.field}`, value: err.value, reason: err.reason }];
  }
  if (typeof name !== "string" || name === "" || name === expected) return [];
  return [
    {
      field: "metadata.name",
      value: name,
      reason: `the WorkloadEndpoint name does not match the primary identifiers assigned in the Spec: expected name ${expected}`,
    },
  ];
}
