/**
 * A small declarative description of resource shapes. Field order is Go struct order, which is
 * the order Calico serialises JSON in; `omit` captures Go's JSON tags so canonical output drops
 * (or keeps) exactly what Calico would.
 */

/**
 * - `empty`: Go `omitempty` on a value type — dropped when absent, "", 0, false, [] or {}.
 * - `nil`: Go `omitempty` on a pointer — dropped only when absent (so `false`, 0 and [] stay).
 * - `zero`: Go `omitzero` on a struct — dropped when every field is zero.
 * - `never`: no omitempty — always written, as the type's zero value when absent.
 */
export type OmitMode = "empty" | "nil" | "zero" | "never";

/** String formats checked during validation (Calico's named field validators). */
export type StringFormat =
  | "selector"
  | "name"
  | "net"
  | "netv4"
  | "netv6"
  | "cidr"
  | "cidrv4"
  | "cidrv6"
  | "ip"
  | "ipv4"
  | "ipv6"
  | "mac"
  | "interface"
  | "ifaceFilter"
  | "ignoredInterface"
  | "bgpFilterInterface"
  | "portName"
  | "containerID"
  | "regexp"
  | "keyValueList"
  | "prometheusHost"
  | "ipPort"
  | "wireguardKey";

export interface StringType {
  kind: "string";
  enum?: readonly string[];
  /** Enum matched case-insensitively (Calico's `(?i)` CRD patterns). */
  caseInsensitive?: boolean;
  pattern?: RegExp;
  maxLength?: number;
  format?: StringFormat;
  /** For selectors: reject any use of `global(` with this message. */
  noGlobal?: string;
}

export interface IntType {
  kind: "int";
  min?: number;
  max?: number;
  values?: readonly number[];
}

export interface ListType {
  kind: "list";
  of: TypeSpec;
  minItems?: number;
  maxItems?: number;
  /** Entries must be distinct (`+listType=set`). */
  unique?: boolean;
}

export interface MapType {
  kind: "map";
  of: TypeSpec;
}

export interface ObjectType {
  kind: "object";
  fields: readonly FieldSpec[];
}

export type TypeSpec =
  | StringType
  | IntType
  | ListType
  | MapType
  | ObjectType
  | { kind: "float" }
  | { kind: "bool" }
  | { kind: "duration" }
  | { kind: "time" }
  | { kind: "protocol" }
  | { kind: "port" }
  | { kind: "asNumber" }
  | { kind: "dscp" }
  /** Kubernetes `intstr.IntOrString`. */
  | { kind: "intOrString" }
  /** Free-form content Calico does not interpret (e.g. Kubernetes conditions). */
  | { kind: "any" };

export interface FieldSpec {
  name: string;
  type: TypeSpec;
  omit: OmitMode;
  required?: boolean;
}

export const str = (opts: Opts<StringType> = {}): StringType => ({ kind: "string", ...opts });
export const int = (opts: Opts<IntType> = {}): IntType => ({ kind: "int", ...opts });
export const list = (of: TypeSpec, opts: Opts<ListType, "of"> = {}): ListType => ({
  kind: "list",
  of,
  ...opts,
});
export const map = (of: TypeSpec = str()): MapType => ({ kind: "map", of });
export const obj = (fields: readonly FieldSpec[]): ObjectType => ({ kind: "object", fields });
export const enumOf = (values: readonly string[], opts: Opts<StringType, "enum"> = {}): StringType =>
  str({ enum: values, ...opts });

export const float = { kind: "float" } as const;
export const bool = { kind: "bool" } as const;
export const duration = { kind: "duration" } as const;
export const time = { kind: "time" } as const;
export const protocol = { kind: "protocol" } as const;
export const port = { kind: "port" } as const;
export const asNumber = { kind: "asNumber" } as const;
export const dscp = { kind: "dscp" } as const;
export const intOrString = { kind: "intOrString" } as const;
export const any = { kind: "any" } as const;

export const uint8 = int({ min: 0, max: 255 });
export const uint16 = int({ min: 0, max: 65535 });
export const int32 = int({ min: -2147483648, max: 2147483647 });

type Opts<T, K extends keyof T | never = never> = Partial<Omit<T, "kind" | K>>;

/** `omitempty` on a value type. */
export const opt = (name: string, type: TypeSpec): FieldSpec => ({ name, type, omit: "empty" });
/** `omitempty` on a pointer (or pointer-to-slice): only absence drops it. */
export const ptr = (name: string, type: TypeSpec): FieldSpec => ({ name, type, omit: "nil" });
/** No `omitempty`: always serialised. */
export const always = (name: string, type: TypeSpec): FieldSpec => ({ name, type, omit: "never" });
/** `omitzero` on a struct. */
export const zero = (name: string, type: TypeSpec): FieldSpec => ({ name, type, omit: "zero" });
/** Marks a field as required (missing or empty is an error). */
export const required = (field: FieldSpec): FieldSpec => ({ ...field, required: true });
