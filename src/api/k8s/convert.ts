/**
 * Kubernetes `networking.k8s.io/v1` NetworkPolicy → Calico v3 NetworkPolicy, as kube-controllers
 * writes it in etcd mode: named `knp.default.<name>` in the same namespace, tier `default`,
 * order 1000, one Allow rule per (protocol group × peer).
 */
import { canonicalCIDR, parseCIDR } from "../../lib/net.js";
import { canonicalize } from "../canonical.js";
import { API_VERSION } from "../kinds.js";
import { isPlainObject, type PlainObject, textOf } from "../plain.js";
import type { EntityRule, PolicyType, Rule } from "../types/common.js";
import type { NetworkPolicy } from "../types/policy.js";
import { canonicalProtocol, formatPort, type PortValue, parsePort, portError } from "../values.js";
import { normaliseProtocolName, ProtocolPorts } from "./ports.js";
import { kubernetesSelectorToCalico } from "./selectors.js";

export const KNP_NAME_PREFIX = "knp.default.";
export const KNP_ORDER = 1000;

/** A Kubernetes rule that could not be converted; Calico drops such rules and reports them. */
export interface DroppedRule {
  /** Path of the offending part, e.g. `spec.ingress[1].ports[0]`. */
  field: string;
  reason: string;
}

export class KubernetesPolicyConversionError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`cannot convert Kubernetes NetworkPolicy: ${field}: ${reason}`);
    this.name = "KubernetesPolicyConversionError";
  }
}

class RuleError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const array = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function convertPort(entry: unknown, path: string): { protocol: string; port?: PortValue } {
  const p = isPlainObject(entry) ? entry : {};
  const protocol = p.protocol === undefined || p.protocol === null ? "TCP" : textOf(p.protocol);
  const name = normaliseProtocolName(protocol);
  if (name !== "TCP" && name !== "UDP" && name !== "SCTP") {
    throw new RuleError(`${path}.protocol`, `unsupported protocol ${protocol}`);
  }
  if (p.port === undefined || p.port === null) return { protocol: name };
  const text =
    p.endPort === undefined || p.endPort === null ? textOf(p.port) : `${textOf(p.port)}:${textOf(p.endPort)}`;
  const parsed = parsePort(text);
  const problem = parsed.ok ? portError(text) : parsed.error;
  if (problem || !parsed.ok) {
    throw new RuleError(path, `failed to parse k8s port: invalid port ${text}: ${problem}`);
  }
  return { protocol: name, port: parsed.value };
}

function convertPeer(peer: unknown, path: string): EntityRule {
  if (!isPlainObject(peer)) return {};
  if (isPlainObject(peer.ipBlock)) {
    const cidrOf = (text: unknown, where: string): string => {
      const canonical = typeof text === "string" && parseCIDR(text) ? canonicalCIDR(text) : undefined;
      if (!canonical) throw new RuleError(where, `invalid CIDR ${textOf(text)}`);
      return canonical;
    };
    const nets = [cidrOf(peer.ipBlock.cidr, `${path}.ipBlock.cidr`)];
    const notNets = array(peer.ipBlock.except).map((e, i) => cidrOf(e, `${path}.ipBlock.except[${i}]`));
    return notNets.length > 0 ? { nets, notNets } : { nets };
  }
  const out: EntityRule = { selector: kubernetesSelectorToCalico(peer.podSelector, "pod") };
  const ns = kubernetesSelectorToCalico(peer.namespaceSelector, "namespace");
  if (ns) out.namespaceSelector = ns;
  return out;
}

function convertRule(rule: unknown, path: string, ingress: boolean): Rule[] {
  const r = isPlainObject(rule) ? rule : {};
  const peerKey = ingress ? "from" : "to";
  const peers = array(r[peerKey]).map((p, i) => convertPeer(p, `${path}.${peerKey}[${i}]`));
  const groups = new ProtocolPorts();
  const ports = array(r.ports);
  ports.forEach((entry, i) => {
    const { protocol, port } = convertPort(entry, `${path}.ports[${i}]`);
    groups.add(protocol, port);
  });
  const protocolGroups: [string | undefined, PortValue[] | undefined][] =
    ports.length > 0 ? groups.entries() : [[undefined, undefined]];
  const peerList: EntityRule[] = peers.length > 0 ? peers : [{}];
  const out: Rule[] = [];
  for (const [protocol, groupPorts] of protocolGroups) {
    for (const peer of peerList) {
      const calicoPorts = groupPorts?.map(formatPort);
      const rule: Rule = { action: "Allow" };
      if (protocol !== undefined) rule.protocol = canonicalProtocol(protocol) as Rule["protocol"];
      if (ingress) {
        rule.source = { ...peer };
        rule.destination = calicoPorts ? { ports: calicoPorts } : {};
      } else {
        rule.destination = calicoPorts ? { ...peer, ports: calicoPorts } : { ...peer };
      }
      out.push(rule);
    }
  }
  return out;
}

function policyTypes(spec: PlainObject): PolicyType[] {
  const given = array(spec.policyTypes);
  // Without an API server to default it: Ingress, plus Egress when egress rules exist.
  if (given.length === 0) return array(spec.egress).length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
  const types: PolicyType[] = [];
  if (given.includes("Ingress")) types.push("Ingress");
  if (given.includes("Egress")) types.push("Egress");
  return types.length > 0 ? types : ["Ingress"];
}

function checkEnvelope(np: unknown): { name: string; namespace: string; spec: PlainObject } {
  if (!isPlainObject(np))
    throw new KubernetesPolicyConversionError("", "not a Kubernetes NetworkPolicy object");
  if (np.kind !== undefined && np.kind !== "NetworkPolicy") {
    throw new KubernetesPolicyConversionError("kind", `expected NetworkPolicy, got ${textOf(np.kind)}`);
  }
  if (np.apiVersion !== undefined && np.apiVersion !== "networking.k8s.io/v1") {
    throw new KubernetesPolicyConversionError(
      "apiVersion",
      `expected networking.k8s.io/v1, got ${textOf(np.apiVersion)}`,
    );
  }
  const meta = isPlainObject(np.metadata) ? np.metadata : {};
  if (typeof meta.name !== "string" || meta.name === "") {
    throw new KubernetesPolicyConversionError("metadata.name", "a NetworkPolicy must have a name");
  }
  if (np.spec !== undefined && np.spec !== null && !isPlainObject(np.spec)) {
    throw new KubernetesPolicyConversionError("spec", "must be an object");
  }
  const namespace = typeof meta.namespace === "string" && meta.namespace !== "" ? meta.namespace : "default";
  return { name: meta.name, namespace, spec: isPlainObject(np.spec) ? np.spec : {} };
}

/**
 * Converts like kube-controllers: rules that cannot be converted (bad port, bad CIDR) are left
 * out and listed in `dropped`; the rest of the policy still applies. Throws
 * `KubernetesPolicyConversionError` only when the input is not a NetworkPolicy at all.
 */
export function convertKubernetesNetworkPolicyLenient(np: unknown): {
  policy: NetworkPolicy;
  dropped: DroppedRule[];
} {
  const { name, namespace, spec } = checkEnvelope(np);
  const dropped: DroppedRule[] = [];
  const convertAll = (rules: unknown, key: "ingress" | "egress"): Rule[] =>
    array(rules).flatMap((rule, i) => {
      try {
        return convertRule(rule, `spec.${key}[${i}]`, key === "ingress");
      } catch (err) {
        if (!(err instanceof RuleError)) throw err;
        dropped.push({ field: err.field, reason: err.reason });
        return [];
      }
    });
  const ingress = convertAll(spec.ingress, "ingress");
  const egress = convertAll(spec.egress, "egress");
  const policy: NetworkPolicy = {
    apiVersion: API_VERSION,
    kind: "NetworkPolicy",
    metadata: { name: `${KNP_NAME_PREFIX}${name}`, namespace },
    spec: {
      tier: "default",
      order: KNP_ORDER,
      selector: kubernetesSelectorToCalico(spec.podSelector, "pod"),
      types: policyTypes(spec),
      ...(ingress.length > 0 ? { ingress } : {}),
      ...(egress.length > 0 ? { egress } : {}),
    },
  };
  return { policy: canonicalize(policy), dropped };
}

/**
 * Converts a Kubernetes NetworkPolicy into the Calico NetworkPolicy `knp.default.<name>`.
 * Throws `KubernetesPolicyConversionError` naming the field when the input is not a
 * NetworkPolicy or any rule cannot be converted.
 */
export function convertKubernetesNetworkPolicy(np: unknown): NetworkPolicy {
  const { policy, dropped } = convertKubernetesNetworkPolicyLenient(np);
  const first = dropped[0];
  if (first) throw new KubernetesPolicyConversionError(first.field, first.reason);
  return policy;
}
