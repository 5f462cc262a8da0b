/**
 * The graph's front end: turns datastore updates (v3 resources by kind and key, IPAM blocks)
 * into model updates keyed by model identity. It plays the part of Calico's update processors
 * plus the validation filter: a value that fails conversion counts as deleted, and an update
 * that changes nothing in the model is dropped here so no node downstream sees it.
 */
import {
  applyDefaults,
  type ClusterInformation,
  type FelixConfiguration,
  formatValidationErrors,
  type GlobalNetworkPolicy,
  type GlobalNetworkSet,
  type HostEndpoint,
  type IPPool,
  type NetworkPolicy,
  type NetworkSet,
  type Node,
  type Profile,
  type Resource,
  type Tier,
  validate,
  type WorkloadEndpoint,
} from "../../../api/index.js";
import { felixConfigurationToModel } from "../config/felix-configuration.js";
import { policyIdKey, workloadEndpointIdKey } from "../messages.js";
import { IPAM_BLOCK_PREFIX, ipamBlockToModel } from "./ipam.js";
import {
  globalNetworkPolicyToModel,
  globalNetworkSetToModel,
  hostEndpointToModel,
  ipPoolToModel,
  networkPolicyToModel,
  networkSetToModel,
  nodeToModel,
  profileToModel,
  tierToModel,
  workloadEndpointToModel,
} from "./resources.js";
import type {
  ModelBlock,
  ModelEndpoint,
  ModelFelixConfiguration,
  ModelNetworkSet,
  ModelNode,
  ModelPolicy,
  ModelPool,
  ModelProfile,
  ModelTier,
} from "./types.js";

/** One datastore update. `value === null` (or a value that fails conversion) means deleted. */
export interface CalcUpdate {
  /** v3 kind (`WorkloadEndpoint`, `NetworkPolicy`, …) or `IPAMBlock`. */
  kind: string;
  /** Datastore key; unique within the kind. IPAM blocks are recognised by their key prefix too. */
  key: string;
  value: unknown;
}

export interface ClusterReadiness {
  datastoreReady: boolean;
}

interface ModelValues {
  policy: ModelPolicy;
  profile: ModelProfile;
  tier: ModelTier;
  endpoint: ModelEndpoint;
  netset: ModelNetworkSet;
  pool: ModelPool;
  block: ModelBlock;
  node: ModelNode;
  felixConfig: ModelFelixConfiguration;
  clusterInfo: ClusterReadiness;
}

export type ModelType = keyof ModelValues;

export type ModelUpdate = {
  [T in ModelType]: { type: T; key: string; value: ModelValues[T] | null };
}[ModelType];

type Converted = { [T in ModelType]: { type: T; key: string; value: ModelValues[T] } }[ModelType];

/** Kinds Felix ignores on purpose: staged policies never enforce. */
const IGNORED_KINDS = new Set([
  "StagedNetworkPolicy",
  "StagedGlobalNetworkPolicy",
  "StagedKubernetesNetworkPolicy",
]);

function convert(kind: string, value: unknown): Converted | null {
  switch (kind) {
    case "NetworkPolicy": {
      const v = networkPolicyToModel(value as NetworkPolicy);
      return { type: "policy", key: policyIdKey(v.id), value: v };
    }
    case "GlobalNetworkPolicy": {
      const v = globalNetworkPolicyToModel(value as GlobalNetworkPolicy);
      return { type: "policy", key: policyIdKey(v.id), value: v };
    }
    case "Profile": {
      const v = profileToModel(value as Profile);
      return { type: "profile", key: v.name, value: v };
    }
    case "Tier": {
      const v = tierToModel(value as Tier);
      return { type: "tier", key: v.name, value: v };
    }
    case "WorkloadEndpoint": {
      const v = workloadEndpointToModel(value as WorkloadEndpoint);
      return v && { type: "endpoint", key: `wep:${workloadEndpointIdKey(v.id)}`, value: v };
    }
    case "HostEndpoint": {
      const v = hostEndpointToModel(value as HostEndpoint);
      return { type: "endpoint", key: `hep:${v.endpointId}`, value: v };
    }
    case "NetworkSet": {
      const res = value as NetworkSet;
      return {
        type: "netset",
        key: `netset:${res.metadata.namespace}/${res.metadata.name}`,
        value: networkSetToModel(res),
      };
    }
    case "GlobalNetworkSet": {
      const res = value as GlobalNetworkSet;
      return { type: "netset", key: `gnetset:${res.metadata.name}`, value: globalNetworkSetToModel(res) };
    }
    case "IPPool": {
      const v = ipPoolToModel(value as IPPool);
      return { type: "pool", key: v.cidr, value: v };
    }
    case "IPAMBlock": {
      const v = ipamBlockToModel(value);
      return v && { type: "block", key: v.cidr, value: v };
    }
    case "Node": {
      const v = nodeToModel(value as Node);
      return { type: "node", key: v.name, value: v };
    }
    case "FelixConfiguration": {
      const v = felixConfigurationToModel(value as FelixConfiguration);
      return { type: "felixConfig", key: v.name, value: v };
    }
    case "ClusterInformation": {
      const res = value as ClusterInformation;
      return {
        type: "clusterInfo",
        key: res.metadata?.name ?? "default",
        value: { datastoreReady: res.spec?.datastoreReady !== false },
      };
    }
    default:
      return null;
  }
}

function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Map ? [...v] : v));
}

interface Stored {
  type: ModelType;
  key: string;
  fingerprint: string;
}

/** Told about each value that failed conversion: its kind, datastore key and why. */
export type InvalidValueHook = (kind: string, key: string, error: Error) => void;

export class UpdateProcessor {
  readonly #stored = new Map<string, Stored>();

  constructor(private readonly onInvalid?: InvalidValueHook) {}

  /** Model updates for one datastore update: usually one, two when a model key changed, none for a no-op. */
  process(update: CalcUpdate): ModelUpdate[] {
    const kind = update.key.startsWith(IPAM_BLOCK_PREFIX) ? "IPAMBlock" : update.kind;
    if (IGNORED_KINDS.has(kind)) return [];
    const inputId = `${kind}\u0000${update.key}`;
    const previous = this.#stored.get(inputId);

    let converted: Converted | null = null;
    if (update.value !== null && update.value !== undefined) {
      try {
        // v3 resources are validated as Calico's validation filter does (on the defaulted value, as
        // Calico's API server stores it); blocks by their conversion.
        const errors = kind === "IPAMBlock" ? [] : validate(applyDefaults(update.value as Resource));
        if (errors.length > 0) throw new Error(formatValidationErrors(errors));
        converted = convert(kind, update.value);
      } catch (err) {
        // Felix's validation filter: an invalid value is treated exactly like a deletion.
        converted = null;
        this.onInvalid?.(kind, update.key, err instanceof Error ? err : new Error(String(err)));
      }
    }

    const out: ModelUpdate[] = [];
    if (previous && (!converted || converted.type !== previous.type || converted.key !== previous.key)) {
      this.#stored.delete(inputId);
      out.push({ type: previous.type, key: previous.key, value: null } as ModelUpdate);
    }
    if (!converted) return out;
    const print = fingerprint(converted.value);
    if (previous && out.length === 0 && previous.fingerprint === print) return out;
    this.#stored.set(inputId, { type: converted.type, key: converted.key, fingerprint: print });
    out.push(converted);
    return out;
  }
}
