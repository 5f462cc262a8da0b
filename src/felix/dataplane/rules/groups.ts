/**
 * Calico's policy groups. Consecutive policies of a tier with the same selector
 * apply to exactly the same endpoints, so their jumps move out of every endpoint chain into one
 * chain the endpoints share (`cali-gi-<id>` inbound, `cali-go-<id>` outbound). An endpoint chain
 * then has two rules per group instead of two per policy, and a hundred endpoints with the same
 * policies share one copy of the jump list.
 */
import { createHash } from "node:crypto";
import type { PolicyID } from "../../calc/messages.js";
import type { Direction } from "./names.js";

export interface PlannedPolicy {
  id: PolicyID;
  /** `policyIdKey(id)`: names the policy's chains. */
  key: string;
  /** False when the endpoint refers to a policy that is not programmed: the step then drops. */
  programmed: boolean;
}

/** Calico returns from a group after every this many policies when one of them decided. */
export const GROUP_RETURN_STRIDE = 5;

/** iptables' chain-name limit: `cali-gi-` plus the id fills it exactly. */
const ID_LENGTH = 20;

export interface PolicyGroup {
  /** Hash of the selector, direction and the ordered policy keys: same list, same chain. */
  id: string;
  dir: Direction;
  policies: PlannedPolicy[];
}

/** One step of a tier: a lone policy jumped to from the endpoint chain, or a shared group. */
export type TierStep = { kind: "policy"; policy: PlannedPolicy } | { kind: "group"; group: PolicyGroup };

export function groupId(selector: string, dir: Direction, keys: readonly string[]): string {
  const text = [selector, dir, String(keys.length), ...keys].join("\n");
  return createHash("sha3-224").update(text).digest("base64url").slice(0, ID_LENGTH);
}

/** `cali-gi-`/`cali-go-` without any table prefix. */
export function groupChainBase(group: PolicyGroup): string {
  return `cali-${group.dir === "inbound" ? "gi" : "go"}-${group.id}`;
}

/**
 * Splits a tier's policies into steps: runs of two or more programmed policies with one selector
 * become a group; a lone policy, or one that is not programmed (it renders as a drop, and its
 * selector is unknown), stays a step of its own.
 */
export function groupPolicies(
  policies: readonly PlannedPolicy[],
  dir: Direction,
  selectorOf: (p: PlannedPolicy) => string | undefined,
): TierStep[] {
  const steps: TierStep[] = [];
  let run: PlannedPolicy[] = [];
  let runSelector: string | undefined;
  const flush = () => {
    if (run.length === 1) steps.push({ kind: "policy", policy: run[0] as PlannedPolicy });
    else if (run.length > 1) {
      const keys = run.map((p) => p.key);
      steps.push({ kind: "group", group: { id: groupId(runSelector ?? "", dir, keys), dir, policies: run } });
    }
    run = [];
    runSelector = undefined;
  };
  for (const p of policies) {
    const selector = p.programmed ? selectorOf(p) : undefined;
    if (selector === undefined) {
      flush();
      steps.push({ kind: "policy", policy: p });
      continue;
    }
    if (run.length > 0 && selector !== runSelector) flush();
    run.push(p);
    runSelector = selector;
  }
  flush();
  return steps;
}

/**
 * The group chain's jumps, as Calico lays them out: a jump is skipped once a policy has allowed
 * or passed the packet, and every fifth policy a return leaves early instead, so a decided packet
 * stops testing the mark on each remaining jump.
 */
export function groupChainPlan(group: PolicyGroup): { returnFirst: boolean; key: string }[] {
  return group.policies.map((p, i) => ({ returnFirst: i > 0 && i % GROUP_RETURN_STRIDE === 0, key: p.key }));
}
