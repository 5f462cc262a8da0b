import { createHash } from "node:crypto";
import type { NftRule } from "./model.js";

/**
 * Calico's rule identity: a hash chained from the chain name through every rule so far, so a
 * rule's id changes when it or anything before it changes (reference §2.2).
 */
export function hashRules(chain: string, rules: readonly { body: string; note?: string }[]): NftRule[] {
  let prev = createHash("sha224").update(chain).digest();
  return rules.map((r) => {
    prev = createHash("sha224").update(prev).update(r.body).digest();
    const hash = prev.toString("base64url").slice(0, 16);
    return r.note === undefined ? { body: r.body, hash } : { body: r.body, note: r.note, hash };
  });
}

/** The comment the kernel keeps for a rule; nft limits comments to 128 bytes. */
export function ruleComment(rule: NftRule): string {
  const text = rule.note ? `cali:${rule.hash}; ${rule.note}` : `cali:${rule.hash};`;
  return text.replace(/[^\w @%+=:;,./-]/g, "_").slice(0, 127);
}

const IDENTITY = /^cali:([\w-]{16});/;

export function hashFromComment(comment: string | undefined): string | undefined {
  return comment === undefined ? undefined : IDENTITY.exec(comment)?.[1];
}
