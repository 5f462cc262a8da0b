/** Errors the client layer adds on top of the datastore's. */
import { formatValidationErrors, type ValidationError } from "../api/index.js";

/**
 * A resource failed validation. The message is Calico's `error with field ...` text, so callers
 * can print it as is; `errors` keeps the structured list for programs.
 */
export class ValidationFailedError extends Error {
  override name = "ValidationFailedError";
  constructor(readonly errors: readonly ValidationError[]) {
    super(formatValidationErrors(errors));
  }
}
