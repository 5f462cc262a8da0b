/**
 * `validate`: every problem with a resource, as Calico's write path would report them (Go field
 * and struct validators, and the CRD's schema and CEL rules).
 *
 * Input may be anything decoded from YAML or JSON; `validate` never throws. It checks what it is
 * given and does not default: Calico validates the *defaulted* object on writes, so callers
 * writing a resource should run `validate(applyDefaults(resource))`. On raw input a few checks
 * answer differently (for example a Tier named `default` without an explicit order is rejected
 * until defaulting fills in 1000000). Unknown fields are not reported here; see
 * `findUnknownFields`. Checks that need other objects (tier exists, pool overlap) belong to the
 * client layer, as do the ones Calico's validator leaves to its client and resource layer: a
 * WorkloadEndpoint's name against its identifiers, and whether a namespace is given.
 */
import { isPlainObject, type PlainObject, textOf } from "../plain.js";
import { resourceSchema } from "../schema/index.js";
import { asObject } from "./access.js";
import { checkBGPConfiguration, checkBGPFilter, checkBGPPeer } from "./bgp.js";
import { checkKubeControllersConfiguration } from "./cluster.js";
import { checkHostEndpoint, checkNode, checkWorkloadEndpoint } from "./endpoints.js";
import { Issues, type ValidationError } from "./errors.js";
import { checkFelixConfiguration } from "./felix.js";
import { checkIPPool } from "./ipam.js";
import { checkEnvelope, checkMetadata } from "./meta.js";
import {
  checkNetworkSetLabels,
  checkPolicySpec,
  checkProfile,
  checkStagedKubernetesPolicy,
  checkStagedPolicy,
  checkTier,
} from "./policy.js";
import { checkValue } from "./schema-check.js";

type KindCheck = (resource: PlainObject, spec: PlainObject, issues: Issues) => void;

const name = (r: PlainObject): unknown => asObject(r.metadata).name;

const kindChecks: Record<string, KindCheck> = {
  IPPool: (_r, spec, issues) => checkIPPool(spec, issues),
  BGPConfiguration: (r, spec, issues) => checkBGPConfiguration(name(r), spec, issues),
  BGPPeer: (_r, spec, issues) => checkBGPPeer(spec, issues),
  BGPFilter: (_r, spec, issues) => checkBGPFilter(spec, issues),
  FelixConfiguration: (r, spec, issues) => checkFelixConfiguration(name(r), spec, issues),
  Node: (_r, spec, issues) => checkNode(spec, issues),
  HostEndpoint: (_r, spec, issues) => checkHostEndpoint(spec, issues),
  WorkloadEndpoint: (_r, spec, issues) => checkWorkloadEndpoint(spec, issues),
  Profile: (_r, spec, issues) => checkProfile(spec, issues),
  NetworkPolicy: (_r, spec, issues) => checkPolicySpec(spec, "namespaced", issues),
  GlobalNetworkPolicy: (_r, spec, issues) => checkPolicySpec(spec, "global", issues),
  StagedNetworkPolicy: (_r, spec, issues) => checkStagedPolicy(spec, "namespaced", issues),
  StagedGlobalNetworkPolicy: (_r, spec, issues) => checkStagedPolicy(spec, "global", issues),
  StagedKubernetesNetworkPolicy: (r, spec, issues) => checkStagedKubernetesPolicy(r, spec, issues),
  NetworkSet: (r, _spec, issues) => checkNetworkSetLabels(r.metadata, issues),
  GlobalNetworkSet: (r, _spec, issues) => checkNetworkSetLabels(r.metadata, issues),
  Tier: (r, spec, issues) => checkTier(name(r), spec, issues),
  KubeControllersConfiguration: (_r, spec, issues) => checkKubeControllersConfiguration(spec, issues),
};

/** Every validation error in `resource`; empty when it is valid. */
export function validate(resource: unknown): ValidationError[] {
  const issues = new Issues();
  if (!isPlainObject(resource)) {
    issues.add("resource", "must be an object", Array.isArray(resource) ? "array" : textOf(resource));
    return issues.list;
  }
  const kind = checkEnvelope(resource, issues);
  if (!kind) return issues.list;
  const schema = resourceSchema(kind);
  if (schema) {
    for (const field of schema.fields) {
      if (field.name === "kind" || field.name === "apiVersion") continue;
      checkValue(resource[field.name], field.type, field.name, issues);
    }
  }
  checkMetadata(kind, resource.metadata, issues);
  const spec = isPlainObject(resource.spec) ? resource.spec : {};
  if (Object.hasOwn(kindChecks, kind)) kindChecks[kind]?.(resource, spec, issues);
  return issues.list;
}

export { formatValidationErrors, type ValidationError } from "./errors.js";
