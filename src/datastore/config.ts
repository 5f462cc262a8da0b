/**
 * Client configuration (CalicoAPIConfig), loaded as calicoctl, calico-node and Felix's library
 * clients load it: from a YAML/JSON file (strictly parsed), or from the environment, each
 * variable looked up with a `CALICO_` prefix first.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { API_VERSION } from "../api/kinds.js";
import { OBJECT_META_FIELDS } from "../api/meta.js";
import { ConfigError } from "./errors.js";

export const DEFAULT_CONFIG_PATH = "/etc/calico/calicoctl.cfg";
export const CONFIG_KIND = "CalicoAPIConfig";

export type DatastoreType = "etcdv3" | "kubernetes";

export interface CalicoAPIConfigSpec {
  datastoreType: string;
  /** Comma-separated client URLs. */
  etcdEndpoints: string;
  /** SRV domain to discover endpoints from; exclusive with etcdEndpoints. */
  etcdDiscoverySrv: string;
  etcdUsername: string;
  etcdPassword: string;
  etcdKeyFile: string;
  etcdCertFile: string;
  etcdCACertFile: string;
  /** Inline PEM (file only; no environment variables). */
  etcdKey: string;
  etcdCert: string;
  etcdCACert: string;
  /** Kubernetes settings are understood so that configs written for Calico load, but unused. */
  kubeconfig: string;
  k8sAPIEndpoint: string;
  k8sKeyFile: string;
  k8sCertFile: string;
  k8sCAFile: string;
  k8sAPIToken: string;
  k8sInsecureSkipTLSVerify: boolean;
  k8sDisableNodePoll: boolean;
  usePodCIDR: boolean;
  k8sClientQPS: number;
}

export interface CalicoAPIConfig {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown>;
  spec: CalicoAPIConfigSpec;
}

type FieldType = "string" | "boolean" | "number";

/** Spec fields: their type and, where Calico reads one, their environment variable. */
const SPEC_FIELDS: Record<keyof CalicoAPIConfigSpec, { type: FieldType; env?: string }> = {
  datastoreType: { type: "string", env: "DATASTORE_TYPE" },
  etcdEndpoints: { type: "string", env: "ETCD_ENDPOINTS" },
  etcdDiscoverySrv: { type: "string", env: "ETCD_DISCOVERY_SRV" },
  etcdUsername: { type: "string", env: "ETCD_USERNAME" },
  etcdPassword: { type: "string", env: "ETCD_PASSWORD" },
  etcdKeyFile: { type: "string", env: "ETCD_KEY_FILE" },
  etcdCertFile: { type: "string", env: "ETCD_CERT_FILE" },
  etcdCACertFile: { type: "string", env: "ETCD_CA_CERT_FILE" },
  etcdKey: { type: "string" },
  etcdCert: { type: "string" },
  etcdCACert: { type: "string" },
  kubeconfig: { type: "string", env: "KUBECONFIG" },
  k8sAPIEndpoint: { type: "string", env: "K8S_API_ENDPOINT" },
  k8sKeyFile: { type: "string", env: "K8S_KEY_FILE" },
  k8sCertFile: { type: "string", env: "K8S_CERT_FILE" },
  k8sCAFile: { type: "string", env: "K8S_CA_FILE" },
  k8sAPIToken: { type: "string" },
  k8sInsecureSkipTLSVerify: { type: "boolean", env: "K8S_INSECURE_SKIP_TLS_VERIFY" },
  k8sDisableNodePoll: { type: "boolean", env: "K8S_DISABLE_NODE_POLL" },
  usePodCIDR: { type: "boolean", env: "USE_POD_CIDR" },
  k8sClientQPS: { type: "number", env: "K8S_CLIENT_QPS" },
};

const META_FIELDS = new Set(OBJECT_META_FIELDS);
const TOP_FIELDS = new Set(["apiVersion", "kind", "metadata", "spec"]);

function emptySpec(): CalicoAPIConfigSpec {
  const spec: Record<string, unknown> = {};
  for (const [name, { type }] of Object.entries(SPEC_FIELDS)) {
    spec[name] = type === "string" ? "" : type === "boolean" ? false : 0;
  }
  return spec as unknown as CalicoAPIConfigSpec;
}

/** Calico's default: etcdv3 when etcd is configured, otherwise kubernetes. */
function defaultDatastoreType(spec: CalicoAPIConfigSpec): void {
  if (spec.datastoreType === "") {
    spec.datastoreType = spec.etcdEndpoints || spec.etcdDiscoverySrv ? "etcdv3" : "kubernetes";
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unknownField(name: string): ConfigError {
  // Calico's strict YAML decoder reports unknown fields in these words.
  return new ConfigError(`error unmarshaling JSON: while decoding JSON: json: unknown field "${name}"`);
}

/** Parses a config document, rejecting unknown fields and values of the wrong type. */
export function loadClientConfigFromBytes(text: string): CalicoAPIConfig {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new ConfigError(`invalid config file: ${doc.errors[0]!.message.split("\n")[0]}`);
  const raw: unknown = doc.toJS() ?? {};
  if (!isMap(raw)) throw new ConfigError("invalid config file: expected a YAML mapping");
  for (const key of Object.keys(raw)) if (!TOP_FIELDS.has(key)) throw unknownField(key);
  const metadata = raw.metadata ?? {};
  if (!isMap(metadata)) throw new ConfigError("invalid config file: metadata must be a mapping");
  for (const key of Object.keys(metadata)) if (!META_FIELDS.has(key)) throw unknownField(key);
  const rawSpec = raw.spec ?? {};
  if (!isMap(rawSpec)) throw new ConfigError("invalid config file: spec must be a mapping");
  const spec = emptySpec();
  for (const [key, value] of Object.entries(rawSpec)) {
    const field = SPEC_FIELDS[key as keyof CalicoAPIConfigSpec];
    if (!field) throw unknownField(key);
    if (value === null) continue;
    if (typeof value !== field.type) {
      throw new ConfigError(
        `invalid config file: spec.${key} must be a ${field.type}, got ${JSON.stringify(value)}`,
      );
    }
    (spec as unknown as Record<string, unknown>)[key] = value;
  }
  const apiVersion = typeof raw.apiVersion === "string" ? raw.apiVersion : "";
  const kind = typeof raw.kind === "string" ? raw.kind : "";
  if (apiVersion !== API_VERSION)
    throw new ConfigError(`invalid config file: unknown APIVersion '${apiVersion}'`);
  if (kind !== CONFIG_KIND) {
    throw new ConfigError(`invalid config file: expected kind '${CONFIG_KIND}', got '${kind}'`);
  }
  defaultDatastoreType(spec);
  return { apiVersion, kind, metadata, spec };
}

function parseEnvValue(name: string, variable: string, type: FieldType, text: string): unknown {
  if (type === "string") return text;
  if (type === "boolean") {
    if (/^(1|t|true)$/i.test(text)) return true;
    if (/^(0|f|false|)$/i.test(text)) return false;
  } else if (text === "" || Number.isFinite(Number(text))) {
    return text === "" ? 0 : Number(text);
  }
  throw new ConfigError(`invalid value '${text}' for ${variable} (${name} must be a ${type})`);
}

/** Reads every field from the environment, `CALICO_<VAR>` taking precedence over `<VAR>`. */
export function loadClientConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CalicoAPIConfig {
  const spec = emptySpec();
  for (const [name, field] of Object.entries(SPEC_FIELDS)) {
    if (!field.env) continue;
    const prefixed = `CALICO_${field.env}`;
    const variable = env[prefixed] !== undefined ? prefixed : field.env;
    const text = env[variable];
    if (text === undefined) continue;
    (spec as unknown as Record<string, unknown>)[name] = parseEnvValue(name, variable, field.type, text);
  }
  defaultDatastoreType(spec);
  return { apiVersion: API_VERSION, kind: CONFIG_KIND, metadata: {}, spec };
}

export interface LoadConfigOptions {
  /** Config file; defaults to /etc/calico/calicoctl.cfg, whose absence means "use the environment". */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadClientConfig(opts: LoadConfigOptions = {}): CalicoAPIConfig {
  const path = opts.configPath ?? DEFAULT_CONFIG_PATH;
  if (!existsSync(path)) {
    if (path === DEFAULT_CONFIG_PATH) return loadClientConfigFromEnv(opts.env);
    throw new ConfigError(`Error reading config file: ${path}`);
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ConfigError(`Error reading config file: ${path}`);
  }
  return loadClientConfigFromBytes(text);
}
