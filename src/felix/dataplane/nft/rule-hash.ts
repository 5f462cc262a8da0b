import { createHash } from "node:crypto";
import type { NftRule } from "./model.js";

/**
 * Calico's rule identity: a hash chained from the chain name through every rule so far, so a
 * rule's id changes when it or anything before it changes.
 */
export function hashRules(chain: string, rules: readonly { body: string; note?: string }[]): NftRule[] {
  // Most chains are unchanged between two renders; remembering their hashes saves re-hashing
  // tens of thousands of rules on every change.
  const key = `${chain}\n${rules.map((r) => r.body).join("\n")}`;
  const hashes = memo.get(key) ?? computeHashes(chain, rules);
  if (!memo.has(key)) {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(key, hashes);
  }
  return rules.map((r, i) => {
    const hash = hashes[i] as string;
    return r.note === undefined ? { body: r.body, hash } : { body: r.body, note: r.note, hash };
  });
}

const MEMO_LIMIT = 100_000;
const memo = new Map<string, string[]>();

function computeHashes(chain: string, rules: readonly { body: string }[]): string[] {
  let prev = createHash("sha224").update(chain).digest();
  return rules.map((r) => {
    prev = createHash("sha224").update(prev).update(r.body).digest();
    return prev.toString("base64url").slice(0, 16);
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
