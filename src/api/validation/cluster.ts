/** KubeControllersConfiguration rules (host-endpoint templates). */
import type { PlainObject } from "../plain.js";
import { asArray, asObject, asString, isSet } from "./access.js";
import type { Issues } from "./errors.js";
import { checkAnnotations, checkLabels } from "./meta.js";

export function checkKubeControllersConfiguration(spec: PlainObject, issues: Issues): void {
  const path = "spec.controllers.node.hostEndpoint.templates";
  const templates = asArray(asObject(asObject(asObject(spec.controllers).node).hostEndpoint).templates);
  const seen = new Set<string>();
  templates.forEach((t, i) => {
    const template = asObject(t);
    const where = `${path}[${i}]`;
    const name = asString(template.generateName) ?? "";
    if (name === "") issues.add(`${where}.generateName`, "Template name must be specified");
    else if (name.length > 253)
      issues.add(`${where}.generateName`, "Template name must be shorter than 253 characters", name);
    else if (seen.has(name)) issues.add(`${where}.generateName`, "Template name must be unique", name);
    seen.add(name);
    if (!isSet(template.interfaceCIDRs) && !isSet(template.interfacePattern)) {
      issues.add(where, "InterfaceCIDRs or InterfacePattern must be specified");
    }
    checkLabels(template.labels, `${where}.labels`, issues);
    checkAnnotations(template.annotations, `${where}.annotations`, issues);
  });
}
