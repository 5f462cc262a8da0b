import { createHash } from "node:crypto";

/**
 * Calico's content-derived identifier: `prefix:` + unpadded base64url SHA-224 of
 * `prefix:content`. Used for selector IP sets (`s:`) and other derived names.
 */
export function uniqueId(prefix: string, content: string): string {
  return `${prefix}:${createHash("sha224").update(`${prefix}:${content}`).digest("base64url")}`;
}
