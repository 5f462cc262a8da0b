/**
 * The one error type the selector parser throws. `reason` keeps Calico's own message text so
 * callers (and validation messages) can match on it; `position` says where parsing stopped.
 */
export class SelectorParseError extends Error {
  override readonly name = "SelectorParseError";

  constructor(
    /** Calico's message, e.g. `expected string`. */
    readonly reason: string,
    /** Character offset in `selector` where the problem was found. */
    readonly position: number,
    readonly selector: string,
  ) {
    super(`${reason} at position ${position} in selector ${JSON.stringify(selector)}`);
  }
}
