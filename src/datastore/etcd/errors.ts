/** Maps etcd3/gRPC failures onto the datastore's typed errors. */
import {
  ClientClosedError,
  castGrpcError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  GRPCUnknownError,
  isRecoverableError,
} from "etcd3";
import {
  DatastoreError,
  DatastoreUnavailableError,
  InvalidRequestError,
  RevisionCompactedError,
} from "../errors.js";

const COMPACTED = "required revision has been compacted";
const FUTURE = "required revision is a future revision";
/** Server-side conditions that mean "etcd cannot serve right now", whatever the gRPC code. */
const UNAVAILABLE_TEXTS = [
  "etcdserver: no leader",
  "etcdserver: leader changed",
  "etcdserver: request timed out",
  "etcdserver: too many requests",
  "context deadline exceeded",
];

export function translateEtcdError(err: unknown, endpoints: readonly string[], revision?: string): Error {
  if (err instanceof DatastoreError) return err;
  // Stream errors arrive as plain gRPC errors; unary ones were already typed by etcd3.
  const error = castGrpcError(err instanceof Error ? err : new Error(String(err)));
  const message = error.message;
  if (message.includes(COMPACTED)) return new RevisionCompactedError(revision ?? "?");
  if (message.includes(FUTURE)) {
    return new InvalidRequestError(`revision ${revision ?? "?"} is newer than the datastore's revision`);
  }
  if (
    isRecoverableError(error) ||
    error instanceof GRPCUnavailableError ||
    error instanceof GRPCDeadlineExceededError ||
    error instanceof GRPCUnknownError ||
    error instanceof ClientClosedError ||
    UNAVAILABLE_TEXTS.some((text) => message.includes(text))
  ) {
    return unavailable(endpoints, message);
  }
  return new DatastoreError(`etcd request failed: ${message}`);
}

export function unavailable(endpoints: readonly string[], detail: string): DatastoreUnavailableError {
  // gRPC appends an empty "Resolution note:" to connection failures.
  const cleaned = detail.replace(/\s*Resolution note:\s*$/, "");
  return new DatastoreUnavailableError(`cannot reach etcd at ${endpoints.join(",")}: ${cleaned}`);
}
