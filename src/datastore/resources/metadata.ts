/**
 * The metadata rules the resource layer enforces before touching the datastore, with Calico's
 * validation-error wording (`error with field <Name>[ = '<value>'] (<reason>)`).
 */
import type { KindInfo } from "../../api/kinds.js";
import type { ObjectMeta } from "../../api/meta.js";
import { InvalidRequestError } from "../errors.js";
import { isRevision } from "../revision.js";

export function fieldError(field: string, value: string | undefined, reason?: string): InvalidRequestError {
  const subject = value === undefined ? field : `${field} = '${value}'`;
  return new InvalidRequestError(`error with field ${reason ? `${subject} (${reason})` : subject}`);
}

/** Go's rendering of a zero time.Time, which Calico prints for a missing timestamp. */
const ZERO_TIME = "0001-01-01 00:00:00 +0000 UTC";

export function checkNamespace(info: KindInfo, namespace: string | undefined): void {
  if (info.namespaced && !namespace) {
    throw fieldError("Metadata.Namespace", undefined, "namespace is not specified on namespaced resource");
  }
  if (!info.namespaced && namespace) {
    throw fieldError(
      "Metadata.Namespace",
      namespace,
      `namespace should not be specified for a non-namespaced resource. ${info.kind} is not a namespaced resource`,
    );
  }
}

export function checkCreate(info: KindInfo, meta: ObjectMeta): void {
  if (!meta.name) {
    const reason = meta.generateName
      ? "field must be set for a Create request (GenerateName is not supported)"
      : "field must be set for a Create request";
    throw fieldError("Metadata.Name", "", reason);
  }
  if (meta.resourceVersion) {
    throw fieldError(
      "Metadata.ResourceVersion",
      meta.resourceVersion,
      "field must not be set for a Create request",
    );
  }
  checkNamespace(info, meta.namespace);
}

export function checkUpdate(info: KindInfo, meta: ObjectMeta): void {
  if (!meta.resourceVersion) {
    throw fieldError("Metadata.ResourceVersion", "", "field must be set for an Update request");
  }
  checkNamespace(info, meta.namespace);
  if (!meta.creationTimestamp) {
    throw fieldError("Metadata.CreationTimestamp", ZERO_TIME, "field must be set for an Update request");
  }
  if (!meta.uid) throw fieldError("Metadata.UID", "", "field must be set for an Update request");
  checkResourceVersion(meta.resourceVersion);
}

/** A resourceVersion is an etcd revision; anything else cannot be compared and is refused. */
export function checkResourceVersion(resourceVersion: string): void {
  if (!isRevision(resourceVersion) || BigInt(resourceVersion) <= 0n) {
    throw fieldError("ResourceVersion", resourceVersion);
  }
}

/** RFC 3339, UTC, whole seconds: how Kubernetes metadata timestamps are written. */
export function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}
