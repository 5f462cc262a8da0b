/** Maps etcd3/gRPC failures onto the datastore's typed errors. */
import {
  ClientClosedError,
  castGrpcError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  GRPCUnknownError,
  isRecoverableError,
} from "etcd3";
import { DatastoreError } from "../errors.js";
import { revisionFailure, saysUnavailable, unavailable } from "../etcd-failures.js";

export function translateEtcdError(err: unknown, endpoints: readonly string[], revision?: string): Error {
  if (err instanceof DatastoreError) return err;
  // Stream errors arrive as plain gRPC errors; unary ones were already typed by etcd3.
  const error = castGrpcError(err instanceof Error ? err : new Error(String(err)));
  const message = error.message;
  const byRevision = revisionFailure(message, revision);
  if (byRevision) return byRevision;
  if (
    isRecoverableError(error) ||
    error instanceof GRPCUnavailableError ||
    error instanceof GRPCDeadlineExceededError ||
    error instanceof GRPCUnknownError ||
    error instanceof ClientClosedError ||
    saysUnavailable(message)
  ) {
    return unavailable(endpoints, message);
  }
  return new DatastoreError(`etcd request failed: ${message}`);
}
