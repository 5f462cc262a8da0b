/**
 * The pure half of the write pipeline: what Calico does to a resource before it looks at any
 * other object. Usable offline (calicoctl validate) as well as before a write.
 */
import { applyDefaults, canonicalize, type Resource, validate } from "../api/index.js";
import { ValidationFailedError } from "./errors.js";

/** Client and CRD defaults, then validation; throws ValidationFailedError listing every problem. */
export function defaultAndValidate(resource: Resource): Resource {
  const defaulted = applyDefaults(resource);
  const errors = validate(defaulted);
  if (errors.length > 0) throw new ValidationFailedError(errors);
  return defaulted;
}

/** The form a resource is stored in: defaulted, validated, canonical (Go field order, omitempty). */
export function prepareForWrite(resource: Resource): Resource {
  return canonicalize(defaultAndValidate(resource));
}
