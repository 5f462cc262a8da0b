/**
 * The syncer's selector rewriting. The strings produced
 * here are exactly the ones Calico's update processors produce; they are what namespaced policy
 * means, and (once canonicalised) they name the IP sets.
 */
import { type EntityRule, LABEL_NAMESPACE, type ServiceAccountMatch } from "../../../api/index.js";
import { parseSelector, prefixLabels } from "../../../selector/index.js";

export const LABEL_SERVICE_ACCOUNT = "projectcalico.org/serviceaccount";
export const NAMESPACE_LABEL_PREFIX = "pcns.";
export const SERVICE_ACCOUNT_LABEL_PREFIX = "pcsa.";
export const NAMESPACE_PROFILE_PREFIX = "kns.";

const HAS_NAMESPACE = `has(${LABEL_NAMESPACE})`;
const NOT_HAS_NAMESPACE = `!has(${LABEL_NAMESPACE})`;
const HAS_SERVICE_ACCOUNT = `has(${LABEL_SERVICE_ACCOUNT})`;

function namespaceClause(ns: string): string {
  return `${LABEL_NAMESPACE} == '${ns}'`;
}

/** Textual AND of an existing selector with a prefixed one: `(current) && prefixed`. */
function appendPrefixed(current: string, added: string | undefined, prefix: string): string {
  if (!added) return current;
  const prefixed = prefixLabels(added, prefix);
  return current ? `(${current}) && ${prefixed}` : prefixed;
}

/** Which endpoints a NetworkPolicy in namespace `ns` applies to. */
export function networkPolicySelector(ns: string, selector = "", serviceAccountSelector?: string): string {
  const scoped = selector ? `(${selector}) && ${namespaceClause(ns)}` : namespaceClause(ns);
  return appendPrefixed(scoped, serviceAccountSelector, SERVICE_ACCOUNT_LABEL_PREFIX);
}

/**
 * Which endpoints a GlobalNetworkPolicy applies to. The `all()` substitutions run over the whole
 * string, so they also rewrite an `all()` the user wrote in `selector` (as Calico does).
 */
export function globalNetworkPolicySelector(
  selector = "",
  namespaceSelector?: string,
  serviceAccountSelector?: string,
): string {
  let result = selector;
  if (namespaceSelector) {
    result = appendPrefixed(result, namespaceSelector, NAMESPACE_LABEL_PREFIX).replaceAll(
      "all()",
      HAS_NAMESPACE,
    );
  }
  if (serviceAccountSelector) {
    result = appendPrefixed(result, serviceAccountSelector, SERVICE_ACCOUNT_LABEL_PREFIX).replaceAll(
      "all()",
      HAS_SERVICE_ACCOUNT,
    );
  }
  return result;
}

/** `serviceAccounts` as a selector: prefixed `selector` ANDed with a names `in` term. */
function serviceAccountSelector(match: ServiceAccountMatch): string {
  const bySelector = match.selector ? prefixLabels(match.selector, SERVICE_ACCOUNT_LABEL_PREFIX) : "";
  const names = match.names ?? [];
  if (names.length === 0) return bySelector;
  const byName = parseSelector(`${LABEL_SERVICE_ACCOUNT} in { '${names.join("', '")}' }`).toString();
  return bySelector ? `(${bySelector}) && (${byName})` : byName;
}

/**
 * The positive selector of one rule side. `ns` is the policy's namespace ("" for global
 * policies and profiles). Nets-only sides of a namespaced policy stay unscoped.
 */
export function entityRuleSelector(entity: EntityRule | undefined, ns: string): string {
  if (!entity) return "";
  let nsSelector = "";
  if (entity.namespaceSelector) {
    nsSelector = prefixLabels(entity.namespaceSelector, NAMESPACE_LABEL_PREFIX)
      .replaceAll("all()", HAS_NAMESPACE)
      .replaceAll("global()", NOT_HAS_NAMESPACE);
  } else if (ns) {
    nsSelector = namespaceClause(ns);
  }

  const parts: string[] = [];
  if (entity.serviceAccounts) {
    const sa = serviceAccountSelector(entity.serviceAccounts);
    if (sa) parts.push(sa);
  }
  if (entity.selector) parts.push(entity.selector);
  let selector = parts.length > 1 ? `(${parts.join(") && (")})` : (parts[0] ?? "");

  if (nsSelector && (selector || entity.notSelector || entity.namespaceSelector)) {
    selector = selector ? `(${nsSelector}) && (${selector})` : nsSelector;
  }
  return selector;
}
