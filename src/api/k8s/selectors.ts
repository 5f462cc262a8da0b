/** Kubernetes label selectors as Calico selector strings (the forms kube-controllers writes). */
import { isPlainObject, textOf } from "../plain.js";

export const ORCHESTRATOR_K8S_TERM = "projectcalico.org/orchestrator == 'k8s'";

/**
 * `pod` selectors always start with the orchestrator term, so `{}` and a missing selector both
 * mean "all pods"; `namespace` selectors have no such term: `{}` is `all()`, missing is `""`.
 */
export function kubernetesSelectorToCalico(selector: unknown, form: "pod" | "namespace"): string {
  const terms = form === "pod" ? [ORCHESTRATOR_K8S_TERM] : [];
  if (!isPlainObject(selector)) return terms.join(" && ");
  const labels = isPlainObject(selector.matchLabels) ? selector.matchLabels : {};
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  if (form === "namespace" && Object.keys(labels).length === 0 && expressions.length === 0) return "all()";
  for (const key of Object.keys(labels).sort()) terms.push(`${key} == '${textOf(labels[key])}'`);
  for (const e of expressions) {
    if (!isPlainObject(e)) continue;
    const key = textOf(e.key);
    const values = (Array.isArray(e.values) ? e.values : []).map(textOf).join("', '");
    switch (e.operator) {
      case "In":
        terms.push(`${key} in { '${values}' }`);
        break;
      case "NotIn":
        terms.push(`${key} not in { '${values}' }`);
        break;
      case "Exists":
        terms.push(`has(${key})`);
        break;
      case "DoesNotExist":
        terms.push(`! has(${key})`);
        break;
    }
  }
  return terms.join(" && ");
}
