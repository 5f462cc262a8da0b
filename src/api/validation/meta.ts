/**
 * Envelope and metadata rules: apiVersion, kind, names per kind, labels and annotations.
 * Whether a namespace is given is the resource layer's business, as in Calico (its validator
 * accepts a NetworkPolicy without one), so it is not checked here.
 */
import { API_VERSION, kindInfo } from "../kinds.js";
import { isPlainObject, type PlainObject } from "../plain.js";
import type { Issues } from "./errors.js";
import { labelRegex, NAME_LABEL, NAME_SUBDOMAIN, SUBDOMAIN_REASON, subdomainRegex } from "./formats.js";
import { labelValueErrors, qualifiedNameErrors } from "./k8s-names.js";

const ANNOTATIONS_LIMIT = 256 * 1024;
const LABEL_REASON = `name must consist of lower case alphanumeric characters or '-' (regex: ${NAME_LABEL})`;

/** NetworkPolicy: a label, optionally one dot, or the reserved `knp.default.`/`ossg.default.` prefixes. */
const networkPolicyNameRegex = new RegExp(
  `^((${NAME_LABEL})(\\.${NAME_LABEL})?|((?:knp|ossg)\\.default\\.(${NAME_SUBDOMAIN})))$`,
);
/** GlobalNetworkPolicy: a label with at most one dot. */
const globalNetworkPolicyNameRegex = new RegExp(`^(${NAME_LABEL}\\.)?${NAME_LABEL}$`);

interface NameRule {
  regex: RegExp;
  reason: string;
  maxLength: number;
}

const defaultNameRule: NameRule = { regex: subdomainRegex, reason: SUBDOMAIN_REASON, maxLength: 253 };

const nameRules: Record<string, NameRule> = {
  Tier: { regex: labelRegex, reason: LABEL_REASON, maxLength: 63 },
  NetworkPolicy: { regex: networkPolicyNameRegex, reason: LABEL_REASON, maxLength: 253 },
  StagedNetworkPolicy: { regex: networkPolicyNameRegex, reason: LABEL_REASON, maxLength: 253 },
  GlobalNetworkPolicy: { regex: globalNetworkPolicyNameRegex, reason: LABEL_REASON, maxLength: 253 },
  StagedGlobalNetworkPolicy: { regex: globalNetworkPolicyNameRegex, reason: LABEL_REASON, maxLength: 253 },
};

const singletonMessages: Record<string, string> = {
  IPAMConfiguration: 'Cannot create an IPAMConfiguration resource with a name other than "default"',
  ClusterInformation: 'Cannot create a Cluster Information resource with a name other than "default"',
  KubeControllersConfiguration:
    'Cannot create a Kube Controllers Configuration resource with a name other than "default"',
};

export function checkLabels(labels: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(labels)) return;
  for (const [key, value] of Object.entries(labels)) {
    for (const reason of qualifiedNameErrors(key)) issues.add(path, reason, key);
    if (typeof value === "string") {
      for (const reason of labelValueErrors(value)) issues.add(`${path}.${key}`, reason, value);
    }
  }
}

export function checkAnnotations(annotations: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(annotations)) return;
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) {
    for (const reason of qualifiedNameErrors(key.toLowerCase())) issues.add(path, reason, key);
    size += Buffer.byteLength(key) + (typeof value === "string" ? Buffer.byteLength(value) : 0);
  }
  if (size > ANNOTATIONS_LIMIT) {
    issues.add(path, `total size of annotations is too large by ${size - ANNOTATIONS_LIMIT} bytes`);
  }
}

function checkName(kind: string, meta: PlainObject, issues: Issues): void {
  const name = meta.name;
  if (name === undefined || name === null || name === "") {
    // WorkloadEndpoint names are derived from the spec when not given.
    if (kind === "WorkloadEndpoint") return;
    const hint = meta.generateName ? " (GenerateName is not supported)" : "";
    issues.add("metadata.name", `field must be set for a Create request${hint}`);
    return;
  }
  if (typeof name !== "string") return;
  const rule = (Object.hasOwn(nameRules, kind) ? nameRules[kind] : undefined) ?? defaultNameRule;
  const bytes = Buffer.byteLength(name);
  if (bytes > rule.maxLength)
    issues.add("metadata.name", `name is too long by ${bytes - rule.maxLength} bytes`, name);
  if (!rule.regex.test(name)) issues.add("metadata.name", rule.reason, name);
  const singleton = Object.hasOwn(singletonMessages, kind) ? singletonMessages[kind] : undefined;
  if (singleton && name !== "default") issues.add("metadata.name", singleton, name);
}

/** Checks apiVersion and kind; returns the kind when it is one this API knows. */
export function checkEnvelope(resource: PlainObject, issues: Issues): string | undefined {
  const { apiVersion, kind } = resource;
  if (apiVersion === undefined || apiVersion === null || apiVersion === "")
    issues.add("apiVersion", "Required value");
  else if (apiVersion !== API_VERSION)
    issues.add("apiVersion", `unsupported apiVersion, expected ${API_VERSION}`, apiVersion);
  if (kind === undefined || kind === null || kind === "") {
    issues.add("kind", "Required value");
    return undefined;
  }
  if (typeof kind !== "string" || !kindInfo(kind)) {
    issues.add("kind", "unsupported kind", kind);
    return undefined;
  }
  return kind;
}

export function checkMetadata(kind: string, metadata: unknown, issues: Issues): void {
  if (metadata === undefined || metadata === null) {
    checkName(kind, {}, issues);
    return;
  }
  if (!isPlainObject(metadata)) return;
  checkName(kind, metadata, issues);
  checkLabels(metadata.labels, "metadata.labels", issues);
  checkAnnotations(metadata.annotations, "metadata.annotations", issues);
}
