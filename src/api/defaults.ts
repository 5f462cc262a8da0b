/**
 * `applyDefaults`: the defaults Calico persists on create/update — the client library's own
 * defaulting plus the CRD schema defaults (which in etcd mode Calico applies in-process, so they
 * are stored). Returns a new object; applying it twice changes nothing more.
 */
import { formatCIDR, isStrictlyMasked, parseCIDR } from "../lib/net.js";
import type { Resource } from "./meta.js";
import { deepCopy, isEmptyValue, isPlainObject, kindOf, type PlainObject } from "./plain.js";
import { DEFAULT_TIER_NAME, DEFAULT_TIER_ORDER } from "./tiers.js";
import { type WorkloadEndpointIdentifiers, workloadEndpointName } from "./workload-endpoint-name.js";

export const LABEL_TIER = "projectcalico.org/tier";
export const LABEL_NAMESPACE = "projectcalico.org/namespace";
export const LABEL_ORCHESTRATOR = "projectcalico.org/orchestrator";

const unset = (v: unknown): boolean => v === undefined || v === null;

/** Sets `obj[key]` when it is absent (or empty, with `emptyToo`). */
function fill(obj: PlainObject, key: string, value: unknown, emptyToo = true): void {
  if (unset(obj[key]) || (emptyToo && isEmptyValue(obj[key]) && typeof obj[key] !== "boolean"))
    obj[key] = value;
}

function labels(resource: PlainObject): PlainObject {
  if (!isPlainObject(resource.metadata)) resource.metadata = {};
  const meta = resource.metadata as PlainObject;
  if (!isPlainObject(meta.labels)) meta.labels = {};
  return meta.labels as PlainObject;
}

function ipPool(spec: PlainObject): void {
  const cidr = typeof spec.cidr === "string" ? parseCIDR(spec.cidr) : undefined;
  if (cidr) {
    // A CIDR with host bits set is left as written so validation can reject it.
    if (isStrictlyMasked(cidr)) spec.cidr = formatCIDR(cidr);
    fill(spec, "blockSize", cidr.family === 4 ? 26 : 122);
  }
  fill(spec, "nodeSelector", "all()");
  fill(spec, "allowedUses", ["Workload", "Tunnel"]);
  fill(spec, "assignmentMode", "Automatic", false);
  fill(spec, "ipipMode", "Never");
  fill(spec, "vxlanMode", "Never");
}

/** `types` from the rules present: egress only → Egress; both → both; otherwise Ingress. */
function policyTypes(spec: PlainObject): void {
  if (Array.isArray(spec.types) && spec.types.length > 0) return;
  const hasIngress = Array.isArray(spec.ingress) && spec.ingress.length > 0;
  const hasEgress = Array.isArray(spec.egress) && spec.egress.length > 0;
  if (!hasEgress) spec.types = ["Ingress"];
  else if (!hasIngress) spec.types = ["Egress"];
  else spec.types = ["Ingress", "Egress"];
}

function policy(resource: PlainObject, spec: PlainObject, staged: boolean): void {
  policyTypes(spec);
  fill(spec, "tier", DEFAULT_TIER_NAME);
  labels(resource)[LABEL_TIER] = typeof spec.tier === "string" ? spec.tier : DEFAULT_TIER_NAME;
  if (!staged) return;
  fill(spec, "stagedAction", "Set");
  // A staged deletion carries no rules, so it carries no types either.
  if (spec.stagedAction === "Delete") delete spec.types;
}

function felixConfiguration(spec: PlainObject): void {
  fill(spec, "floatingIPs", "Disabled", false);
  fill(spec, "bpfConnectTimeLoadBalancing", "TCP", false);
  fill(spec, "bpfHostNetworkedNATWithoutCTLB", "Enabled", false);
  // The deprecated boolean, when given, decides both newer fields.
  if (typeof spec.bpfConnectTimeLoadBalancingEnabled === "boolean") {
    spec.bpfHostNetworkedNATWithoutCTLB = "Disabled";
    spec.bpfConnectTimeLoadBalancing = spec.bpfConnectTimeLoadBalancingEnabled ? "Enabled" : "Disabled";
  }
  fill(spec, "nftablesMode", "Auto", false);
  fill(spec, "nftablesFlowTableOffload", "Disabled", false);
}

function kubeControllersConfiguration(spec: PlainObject): void {
  fill(spec, "prometheusMetricsPort", 9094, false);
  fill(spec, "healthChecks", "Enabled");
  if (!isPlainObject(spec.controllers)) spec.controllers = {};
  const controllers = spec.controllers as PlainObject;
  if (isPlainObject(controllers.node)) fill(controllers.node, "leakGracePeriod", "15m0s", false);
  if (isPlainObject(controllers.loadBalancer)) fill(controllers.loadBalancer, "assignIPs", "AllServices");
  if (isPlainObject(controllers.migration)) fill(controllers.migration, "policyNameMigrator", "Enabled");
}

function workloadEndpoint(resource: PlainObject, spec: PlainObject): void {
  const meta = isPlainObject(resource.metadata) ? resource.metadata : {};
  resource.metadata = meta;
  if (unset(meta.name) || meta.name === "") {
    try {
      meta.name = workloadEndpointName(spec as WorkloadEndpointIdentifiers);
    } catch {
      // Missing identifiers: validation reports them.
    }
  }
  const l = labels(resource);
  l[LABEL_NAMESPACE] = typeof meta.namespace === "string" ? meta.namespace : "";
  l[LABEL_ORCHESTRATOR] = typeof spec.orchestrator === "string" ? spec.orchestrator : "";
}

type Defaulter = (resource: PlainObject, spec: PlainObject) => void;

const defaulters: Record<string, Defaulter> = {
  IPPool: (_r, spec) => ipPool(spec),
  IPAMConfiguration: (_r, spec) => {
    fill(spec, "strictAffinity", false, false);
    fill(spec, "autoAllocateBlocks", true, false);
  },
  BGPConfiguration: (_r, spec) => {
    fill(spec, "logSeverityScreen", "Info");
    fill(spec, "serviceLoadBalancerAggregation", "Enabled", false);
  },
  FelixConfiguration: (_r, spec) => felixConfiguration(spec),
  NetworkPolicy: (r, spec) => policy(r, spec, false),
  GlobalNetworkPolicy: (r, spec) => policy(r, spec, false),
  StagedNetworkPolicy: (r, spec) => policy(r, spec, true),
  StagedGlobalNetworkPolicy: (r, spec) => policy(r, spec, true),
  StagedKubernetesNetworkPolicy: (_r, spec) => fill(spec, "stagedAction", "Set"),
  Tier: (_r, spec) => {
    fill(spec, "order", DEFAULT_TIER_ORDER, false);
    fill(spec, "defaultAction", "Deny", false);
  },
  KubeControllersConfiguration: (_r, spec) => kubeControllersConfiguration(spec),
  WorkloadEndpoint: workloadEndpoint,
};

/** A defaulted copy of `resource`. Anything that is not a resource object is returned as a copy. */
export function applyDefaults<T extends Resource<unknown, unknown> = Resource>(resource: T): T {
  const copy = deepCopy(resource) as unknown;
  if (!isPlainObject(copy)) return copy as T;
  // Own properties only: a kind such as "valueOf" must not find Object.prototype's method.
  const kind = kindOf(copy);
  const defaulter = Object.hasOwn(defaulters, kind) ? defaulters[kind] : undefined;
  if (!defaulter) return copy as T;
  if (unset(copy.spec)) copy.spec = {};
  if (isPlainObject(copy.spec)) defaulter(copy, copy.spec);
  return copy as T;
}
