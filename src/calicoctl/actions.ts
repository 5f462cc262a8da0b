/**
 * What each calicoctl verb does to one resource, on top of the client pipeline: the metadata
 * calicoctl keeps or copies, replace's version handling and retries, apply's create-then-replace,
 * and the resources calicoctl refuses to manage.
 */
import { API_VERSION, formatResourceKey, type Resource, type ResourceKey } from "../api/index.js";
import { type CalicoClient, defaultAndValidate } from "../client/index.js";
import {
  OperationNotSupportedError,
  ResourceAlreadyExistsError,
  UpdateConflictError,
} from "../datastore/errors.js";
import type { InputResource } from "./input/types.js";

/** A list query's result, shaped as Calico's `<Kind>List`. */
export interface ListOutput {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string };
  items: Resource[];
}

export type Output = Resource | ListOutput;

export function isListOutput(output: Output): output is ListOutput {
  return Array.isArray((output as ListOutput).items);
}

export interface ReplaceOptions {
  sleep: (ms: number) => Promise<void>;
}

const REPLACE_ATTEMPTS = 5;
const REPLACE_RETRY_MS = 1000;
const KNP_PREFIX = "knp.default.";

function keyOf(resource: Resource): ResourceKey {
  const { name = "", namespace } = resource.metadata;
  return namespace ? { kind: resource.kind, name, namespace } : { kind: resource.kind, name };
}

/** ClusterInformation belongs to calico-node; calicoctl only reads it. */
function refuseClusterInformation(input: InputResource, operation: string): void {
  if (input.info.kind === "ClusterInformation") {
    throw new OperationNotSupportedError(operation, "ClusterInformation");
  }
}

/** `knp.default.` policies mirror Kubernetes ones; only a Kubernetes document may write them. */
function refuseKubernetesPolicyName(input: InputResource, operation: string): void {
  const { resource } = input;
  if (
    resource.kind === "NetworkPolicy" &&
    resource.metadata.name?.startsWith(KNP_PREFIX) &&
    !input.fromKubernetes
  ) {
    throw new OperationNotSupportedError(
      operation,
      formatResourceKey(keyOf(resource)),
      "kubernetes network policies must be managed through the kubernetes API",
    );
  }
}

/** Only name, namespace, resourceVersion, labels and annotations survive into a create. */
export function metadataForCreate(resource: Resource): Resource {
  const { name, namespace, resourceVersion, labels, annotations } = resource.metadata;
  const metadata = Object.fromEntries(
    Object.entries({ name, namespace, resourceVersion, labels, annotations }).filter(
      ([, v]) => v !== undefined,
    ),
  );
  return { ...resource, metadata };
}

/**
 * The stored object's metadata (uid, timestamps, resourceVersion...) with the document's labels
 * and annotations merged over the stored ones.
 */
export function metadataForUpdate(stored: Resource, doc: Resource): Resource {
  const merge = (a?: Record<string, string>, b?: Record<string, string>) =>
    a === undefined && b === undefined ? undefined : { ...a, ...b };
  const labels = merge(stored.metadata.labels, doc.metadata.labels);
  const annotations = merge(stored.metadata.annotations, doc.metadata.annotations);
  const metadata = {
    ...stored.metadata,
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
  };
  return { ...doc, metadata };
}

export async function createResource(client: CalicoClient, input: InputResource): Promise<Resource> {
  refuseClusterInformation(input, "create or apply");
  refuseKubernetesPolicyName(input, "create or apply");
  return client.create(metadataForCreate(input.resource));
}

/**
 * With a resourceVersion in the document it must still be current (no retry); without one the
 * current version is fetched and the update retried on conflict. `stored`, when the caller has
 * just read the object, stands in for the first fetch.
 */
export async function replaceResource(
  client: CalicoClient,
  input: InputResource,
  opts: ReplaceOptions,
  stored?: Resource,
): Promise<Resource> {
  refuseClusterInformation(input, "apply or replace");
  refuseKubernetesPolicyName(input, "apply or replace");
  const doc = input.resource;
  const key = keyOf(doc);
  const wanted = doc.metadata.resourceVersion;
  let known = stored;
  const fetch = async () => {
    const current = known ?? (await client.get(key));
    known = undefined;
    return current;
  };
  if (wanted) {
    const current = await fetch();
    if (current.metadata.resourceVersion !== wanted) {
      throw new UpdateConflictError(formatResourceKey(key), current);
    }
    return client.update(metadataForUpdate(current, doc));
  }
  let lastConflict: Error | undefined;
  for (let attempt = 0; attempt < REPLACE_ATTEMPTS; attempt++) {
    if (attempt > 0) await opts.sleep(REPLACE_RETRY_MS);
    const current = await fetch();
    try {
      return await client.update(metadataForUpdate(current, doc));
    } catch (err) {
      if (!(err instanceof UpdateConflictError)) throw err;
      lastConflict = err;
    }
  }
  throw new Error(`failed to update the resource: ${lastConflict?.message}`);
}

export async function applyResource(
  client: CalicoClient,
  input: InputResource,
  opts: ReplaceOptions,
): Promise<Resource> {
  if (input.info.kind === "ClusterInformation") {
    throw new OperationNotSupportedError("apply", "ClusterInformation", "resource is readonly");
  }
  const { resourceVersion, ...metadata } = input.resource.metadata;
  try {
    return await createResource(client, { ...input, resource: { ...input.resource, metadata } });
  } catch (err) {
    if (!(err instanceof ResourceAlreadyExistsError) && !(err instanceof OperationNotSupportedError))
      throw err;
    return replaceResource(client, input, opts);
  }
}

/** A resourceVersion in the document is a precondition. */
export async function deleteResource(client: CalicoClient, input: InputResource): Promise<Resource> {
  refuseClusterInformation(input, "delete");
  refuseKubernetesPolicyName(input, "delete");
  const resourceVersion = input.resource.metadata.resourceVersion;
  return client.delete(keyOf(input.resource), resourceVersion ? { resourceVersion } : {});
}

/** Tiers are listed in evaluation order; a tier without an order goes last. */
function byTierOrder(a: Resource, b: Resource): number {
  const oa = a.spec?.order;
  const ob = b.spec?.order;
  if (typeof oa !== "number") return typeof ob === "number" ? 1 : 0;
  if (typeof ob !== "number") return -1;
  return oa - ob;
}

/** A named resource is fetched; an unnamed one stands for the list of its kind (and namespace). */
export async function getOrList(client: CalicoClient, input: InputResource): Promise<Output> {
  const { resource, info } = input;
  const revision = resource.metadata.resourceVersion || undefined;
  if (resource.metadata.name) {
    if (info.namespaced && !resource.metadata.namespace) {
      throw new Error("cannot use --all-namespace flag for getting a single resource");
    }
    return client.get(keyOf(resource), revision ? { revision } : {});
  }
  const namespace = resource.metadata.namespace;
  const listed = await client.list(info.kind, {
    ...(namespace ? { namespace } : {}),
    ...(revision ? { revision } : {}),
  });
  const items = info.kind === "Tier" ? [...listed.items].sort(byTierOrder) : listed.items;
  return {
    kind: `${info.kind}List`,
    apiVersion: API_VERSION,
    metadata: { resourceVersion: listed.revision },
    items,
  };
}

/** `calicoctl validate`: the offline part of the write pipeline. */
export function validateResource(input: InputResource): Resource {
  defaultAndValidate(input.resource);
  return input.resource;
}
