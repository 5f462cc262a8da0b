/** A resource read from a file or named on the command line. */
import type { KindInfo, Resource } from "../../api/index.js";

export interface InputResource {
  resource: Resource;
  info: KindInfo;
  /**
   * Converted from a Kubernetes networking.k8s.io/v1 NetworkPolicy: such policies are the one
   * way to write the reserved `knp.default.` names, which calicoctl refuses in v3 documents.
   */
  fromKubernetes: boolean;
}
