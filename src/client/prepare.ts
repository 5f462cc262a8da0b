/**
 * The pure half of the write pipeline: what Calico does to a resource before it looks at any
 * other object. Usable offline (calicoctl validate) as well as before a write.
 */
import {
  applyDefaults,
  canonicalize,
  type Resource,
  validate,
  type WorkloadEndpointIdentifiers,
  workloadEndpointNameErrors,
} from "../api/index.js";
import { ValidationFailedError } from "./errors.js";

function fail(errors: ReturnType<typeof validate>): void {
  if (errors.length > 0) throw new ValidationFailedError(errors);
}

/** Client and CRD defaults, then validation; throws ValidationFailedError listing every problem. */
export function defaultAndValidate(resource: Resource): Resource {
  const defaulted = applyDefaults(resource);
  fail(validate(defaulted));
  return defaulted;
}

/**
 * The form a resource is stored in: defaulted, validated, canonical (Go field order, omitempty).
 * A WorkloadEndpoint's name must first agree with its identifiers; like Calico's client, that is
 * checked (and reported alone) before validation, and only on writes.
 */
export function prepareForWrite(resource: Resource): Resource {
  const defaulted = applyDefaults(resource);
  if (defaulted.kind === "WorkloadEndpoint") {
    fail(
      workloadEndpointNameErrors(
        defaulted.metadata?.name,
        (defaulted.spec ?? {}) as WorkloadEndpointIdentifiers,
      ),
    );
  }
  fail(validate(defaulted));
  return canonicalize(defaulted);
}
