/**
 * A FelixConfiguration resource → Felix's flat `name → string` parameters, encoded the way
 * Calico's config update processor encodes them (durations as seconds, lists comma-joined, …).
 * Annotations `config.projectcalico.org/<Name>` override fields of the same name verbatim.
 */
import { type FelixConfiguration, parseGoDuration } from "../../../api/index.js";
import { ModelConversionError } from "../model/rules.js";
import type { ModelFelixConfiguration } from "../model/types.js";
import { configName, ENCODINGS, type FieldEncoding } from "./names.js";

const ANNOTATION_PREFIX = "config.projectcalico.org/";

function durationNanos(value: unknown): bigint {
  const nanos = typeof value === "string" ? parseGoDuration(value) : undefined;
  if (nanos === undefined) throw new ModelConversionError(`invalid duration ${JSON.stringify(value)}`);
  return nanos;
}

function encode(value: unknown, encoding: FieldEncoding | undefined): string | undefined {
  switch (encoding) {
    case "seconds":
      return String(Number(durationNanos(value)) / 1e9);
    case "millis":
      return String(Number(durationNanos(value)) / 1e6);
    case "protoPorts": {
      const ports = value as { protocol?: string; port: number; net?: string }[];
      if (ports.length === 0) return "none";
      return ports
        .map((p) => {
          const proto = (p.protocol ?? "TCP").toLowerCase();
          if (!p.net) return `${proto}:${p.port}`;
          return p.net.includes(":") ? `${proto}:[${p.net}]:${p.port}` : `${proto}:${p.net}:${p.port}`;
        })
        .join(",");
    }
    case "range": {
      const r = value as { min: number; max: number };
      return `${r.min}-${r.max}`;
    }
    case "ranges":
      return (value as { min: number; max: number }[]).map((r) => `${r.min}-${r.max}`).join(",");
    case "healthTimeouts": {
      const list = value as { name: string; timeout: string }[];
      return list.length === 0 ? undefined : list.map((h) => `${h.name}=${h.timeout}`).join(",");
    }
    case "keyValues":
      return Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => typeof v === "string" && v !== "")
        .map(([k, v]) => `${k.charAt(0).toUpperCase()}${k.slice(1)}=${String(v)}`)
        .join(",");
    case "map":
      return Object.entries(value as Record<string, string>)
        .map(([k, v]) => `${k}=${v},`)
        .join("");
    case undefined:
      if (Array.isArray(value)) return value.map(String).join(",");
      if (typeof value === "object" && value !== null) return JSON.stringify(value);
      return value === "" ? undefined : String(value);
  }
}

export function felixConfigurationToModel(res: FelixConfiguration): ModelFelixConfiguration {
  const name = res.metadata?.name;
  if (!name) throw new ModelConversionError("FelixConfiguration has no name");
  const values: Record<string, string> = {};
  const spec = (res.spec ?? {}) as Record<string, unknown>;
  for (const [field, value] of Object.entries(spec)) {
    if (field === "nodeSelector" || value === undefined || value === null) continue;
    const encoded = encode(value, ENCODINGS[field]);
    if (encoded !== undefined) values[configName(field)] = encoded;
  }
  for (const [k, v] of Object.entries(res.metadata.annotations ?? {})) {
    if (k.startsWith(ANNOTATION_PREFIX)) values[k.slice(ANNOTATION_PREFIX.length)] = v;
  }
  const model: ModelFelixConfiguration = {
    name,
    values,
    creationTimestamp:
      typeof res.metadata.creationTimestamp === "string" ? res.metadata.creationTimestamp : "",
  };
  const nodeSelector = res.spec?.nodeSelector;
  if (nodeSelector) model.nodeSelector = nodeSelector;
  return model;
}
