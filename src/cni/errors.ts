/**
 * CNI error reporting. A plugin reports failure as a JSON object on stdout and exit status 1;
 * the numeric codes are the CNI specification's well-known ones, which runtimes act upon.
 */

export const ErrorCode = {
  incompatibleVersion: 1,
  invalidEnvironment: 4,
  decodingFailure: 6,
  invalidNetworkConfig: 7,
  tryAgainLater: 11,
  pluginNotAvailable: 50,
  internal: 999,
} as const;

export class CniError extends Error {
  override name = "CniError";
  constructor(
    readonly code: number,
    msg: string,
    readonly details = "",
  ) {
    super(msg);
  }

  /** The wire form; `details` is left out when empty, as Calico's library does. */
  toJSON(): { code: number; msg: string; details?: string } {
    return this.details
      ? { code: this.code, msg: this.message, details: this.details }
      : { code: this.code, msg: this.message };
  }
}

/** Anything thrown that is not already a CniError is an internal error (code 999). */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Error) return new CniError(ErrorCode.internal, err.message);
  return new CniError(ErrorCode.internal, String(err));
}
