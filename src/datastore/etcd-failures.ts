/**
 * What etcd's own error messages mean, whichever client carried them (the gRPC client and the
 * JSON-gateway client both hand on the server's text).
 */
import { DatastoreUnavailableError, InvalidRequestError, RevisionCompactedError } from "./errors.js";

/** Server-side conditions that mean "etcd cannot serve right now", whatever the status code. */
const UNAVAILABLE_TEXTS = [
  "etcdserver: no leader",
  "etcdserver: leader changed",
  "etcdserver: request timed out",
  "etcdserver: too many requests",
  "context deadline exceeded",
];

/** The typed error for a read at a compacted or a future revision, if the message says so. */
export function revisionFailure(message: string, revision: string | undefined): Error | undefined {
  if (message.includes("required revision has been compacted"))
    return new RevisionCompactedError(revision ?? "?");
  if (message.includes("required revision is a future revision"))
    return new InvalidRequestError(`revision ${revision ?? "?"} is newer than the datastore's revision`);
  return undefined;
}

export function saysUnavailable(message: string): boolean {
  return UNAVAILABLE_TEXTS.some((text) => message.includes(text));
}

export function unavailable(endpoints: readonly string[], detail: string): DatastoreUnavailableError {
  // gRPC appends an empty "Resolution note:" to connection failures.
  const cleaned = detail.replace(/\s*Resolution note:\s*$/, "");
  return new DatastoreUnavailableError(`cannot reach etcd at ${endpoints.join(",")}: ${cleaned}`);
}
