/**
 * Revision strings. etcd revisions are int64, beyond what a JS number holds exactly, so they
 * travel as decimal strings and are compared as bigint.
 */
import { InvalidRequestError } from "./errors.js";

const INT64_MAX = (1n << 63n) - 1n;
const DECIMAL = /^-?\d+$/;

/** Parses a revision; throws InvalidRequestError when it is not a decimal int64. */
export function parseRevision(text: string, what = "revision"): bigint {
  if (!DECIMAL.test(text)) throw new InvalidRequestError(`invalid ${what} '${text}': not a decimal integer`);
  const value = BigInt(text);
  if (value > INT64_MAX || value < -INT64_MAX - 1n) {
    throw new InvalidRequestError(`invalid ${what} '${text}': out of range`);
  }
  return value;
}

export function isRevision(text: string): boolean {
  try {
    parseRevision(text);
    return true;
  } catch {
    return false;
  }
}

/** Negative, zero or positive as `a` is below, equal to or above `b`. */
export function compareRevisions(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function nextRevision(revision: string): string {
  return (BigInt(revision) + 1n).toString();
}

/**
 * A compare-and-swap guard: revision 0 would match an absent key, turning an update into a
 * create, so only revisions of real writes are accepted.
 */
export function requirePositiveRevision(text: string): bigint {
  const value = parseRevision(text, "modRevision");
  if (value <= 0n) throw new InvalidRequestError(`invalid modRevision '${text}': must be positive`);
  return value;
}
