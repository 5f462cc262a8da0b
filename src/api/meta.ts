/** The envelope every projectcalico.org/v3 object shares. */

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface Resource<Spec = Record<string, unknown>, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

/** Kubernetes ObjectMeta fields in the order Go's encoder writes them. */
export const OBJECT_META_FIELDS: readonly string[] = [
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
];

/** Identifies one stored object. `namespace` is set only for namespaced kinds. */
export interface ResourceKey {
  kind: string;
  name: string;
  namespace?: string;
}

/** Calico renders keys in errors as `Kind(name)` or `Kind(namespace/name)`. */
export function formatResourceKey(key: ResourceKey): string {
  return key.namespace ? `${key.kind}(${key.namespace}/${key.name})` : `${key.kind}(${key.name})`;
}
