/**
 * Typed datastore errors. Messages follow Calico's library texts because calicoctl prints them
 * verbatim and users' scripts match on them. `identifier` is `Kind(ns/name)` at the resource
 * layer and the raw etcd key at the KV layer.
 */

export class DatastoreError extends Error {
  override name = "DatastoreError";
}

export class ResourceNotFoundError extends DatastoreError {
  override name = "ResourceNotFoundError";
  constructor(readonly identifier: string) {
    super(`resource does not exist: ${identifier} with error: <nil>`);
  }
}

export class ResourceAlreadyExistsError extends DatastoreError {
  override name = "ResourceAlreadyExistsError";
  constructor(
    readonly identifier: string,
    /** The object currently stored, when the backend returned it. */
    readonly existing?: unknown,
  ) {
    super(`resource already exists: ${identifier} with error: <nil>`);
  }
}

export class UpdateConflictError extends DatastoreError {
  override name = "UpdateConflictError";
  constructor(
    readonly identifier: string,
    /** The latest stored object, when the backend returned it. */
    readonly latest?: unknown,
  ) {
    super(`update conflict: ${identifier}`);
  }
}

export class OperationNotSupportedError extends DatastoreError {
  override name = "OperationNotSupportedError";
  constructor(
    readonly operation: string,
    readonly identifier: string,
    readonly reason?: string,
  ) {
    super(`operation ${operation} is not supported on ${identifier}${reason ? `: ${reason}` : ""}`);
  }
}

/** A value or a request the datastore layer refuses (bad resourceVersion, missing namespace...). */
export class InvalidRequestError extends DatastoreError {
  override name = "InvalidRequestError";
}

/** The watched revision has been compacted away; the watcher must re-list. */
export class RevisionCompactedError extends DatastoreError {
  override name = "RevisionCompactedError";
  constructor(readonly revision: string) {
    super(`required revision ${revision} has been compacted`);
  }
}

/** The datastore could not be reached or did not answer in time. */
export class DatastoreUnavailableError extends DatastoreError {
  override name = "DatastoreUnavailableError";
}

/** The client configuration (file or environment) is missing, unreadable or invalid. */
export class ConfigError extends DatastoreError {
  override name = "ConfigError";
}
