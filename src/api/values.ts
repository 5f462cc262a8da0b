/**
 * The number-or-string value types shared by many kinds (Calico's `numorstring` package):
 * Protocol, Port and ASNumber. Each has a lenient parser (what the JSON decoder accepts), a
 * canonical JSON form, and a validity check whose reasons match Calico's.
 */

/** A protocol as stored: a number 1–255 or one of the case-sensitive names. */
export type Protocol = number | string;

/** A port as stored: a single number, a `"min:max"` range string, or a named port. */
export type Port = number | string;

/** An AS number as written; stored as a plain integer (dotted `"a.b"` means a·65536+b). */
export type ASNumber = number | string;

export const PROTOCOL_NAMES = ["TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite"] as const;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const digits = /^\d+$/;

/** Digit strings that fit in a byte are numbers; anything else stays as written (a name). */
export function canonicalProtocol(value: unknown): unknown {
  if (typeof value === "string" && digits.test(value)) {
    const n = Number(value);
    if (n <= 255) return n;
  }
  return value;
}

/** Why a protocol is invalid, or undefined when it is valid. */
export function protocolError(value: unknown): string | undefined {
  const p = canonicalProtocol(value);
  if (typeof p === "number") {
    if (!Number.isInteger(p) || p < 1 || p > 255) return "protocol number invalid";
    return undefined;
  }
  if (typeof p === "string") {
    return (PROTOCOL_NAMES as readonly string[]).includes(p) ? undefined : "protocol name invalid";
  }
  return "protocol must be a number or a name";
}

/** TCP, UDP and SCTP (by name or number) carry ports. */
export function protocolSupportsPorts(value: unknown): boolean {
  const p = canonicalProtocol(value);
  if (typeof p === "number") return p === 6 || p === 17 || p === 132;
  return p === "TCP" || p === "UDP" || p === "SCTP";
}

/** The protocol number for ICMP-family checks; names map to their IANA numbers. */
export function protocolNumber(value: unknown): number | undefined {
  const p = canonicalProtocol(value);
  if (typeof p === "number") return p;
  const byName: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, ICMPv6: 58, SCTP: 132, UDPLite: 136 };
  return typeof p === "string" ? byName[p] : undefined;
}

export interface PortValue {
  min: number;
  max: number;
  /** Set for named ports; then min and max are 0. */
  name?: string;
}

const portRange = /^(\d+):(\d+)$/;
const portName = /^[a-zA-Z0-9_.-]{1,128}$/;

function parseUint16(text: string): number | undefined {
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

/** Decodes a port the way Calico's JSON decoder does; errors carry Calico's texts. */
export function parsePort(value: unknown): ParseResult<PortValue> {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value > 65535) {
      return { ok: false, error: `invalid port format (${value})` };
    }
    return { ok: true, value: { min: value, max: value } };
  }
  if (typeof value !== "string") return { ok: false, error: "port must be a number or a string" };
  if (digits.test(value)) {
    const n = parseUint16(value);
    return n === undefined
      ? { ok: false, error: `invalid port format (${value})` }
      : { ok: true, value: { min: n, max: n } };
  }
  const range = portRange.exec(value);
  if (range) {
    const min = parseUint16(range[1]!);
    if (min === undefined) return { ok: false, error: `invalid minimum port number in range (${value})` };
    const max = parseUint16(range[2]!);
    if (max === undefined) return { ok: false, error: `invalid maximum port number in range (${value})` };
    if (min > max) {
      return {
        ok: false,
        error: `minimum port number (${min}) is greater than maximum port number (${max}) in port range`,
      };
    }
    return { ok: true, value: { min, max } };
  }
  if (!portName.test(value)) return { ok: false, error: `invalid name for named port (${value})` };
  return { ok: true, value: { min: 0, max: 0, name: value } };
}

/** Canonical JSON form: name, single number, or `"min:max"`. */
export function formatPort(port: PortValue): Port {
  if (port.name) return port.name;
  return port.min === port.max ? port.min : `${port.min}:${port.max}`;
}

export function canonicalPort(value: unknown): unknown {
  const parsed = parsePort(value);
  return parsed.ok ? formatPort(parsed.value) : value;
}

/** Why a port is unusable (decode error or numeric range), or undefined. */
export function portError(value: unknown): string | undefined {
  const parsed = parsePort(value);
  if (!parsed.ok) return parsed.error;
  const p = parsed.value;
  if (p.name === undefined && (p.min < 1 || p.max < 1)) {
    return "port range invalid, port number must be between 1 and 65535";
  }
  return undefined;
}

export function isNamedPort(value: unknown): boolean {
  const parsed = parsePort(value);
  return parsed.ok && parsed.value.name !== undefined;
}

const MAX_AS = 4294967295;

export function parseASNumber(value: unknown): ParseResult<number> {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 0 && value <= MAX_AS) return { ok: true, value };
    return { ok: false, error: `invalid AS Number format (${value})` };
  }
  if (typeof value !== "string") return { ok: false, error: "AS number must be a number or a string" };
  if (digits.test(value) && Number(value) <= MAX_AS) return { ok: true, value: Number(value) };
  const parts = value.split(".");
  if (parts.length === 2 && parts.every((p) => digits.test(p) && Number(p) <= 65535)) {
    return { ok: true, value: Number(parts[0]) * 65536 + Number(parts[1]) };
  }
  return { ok: false, error: `invalid AS Number format (${value})` };
}

export function canonicalASNumber(value: unknown): unknown {
  const parsed = parseASNumber(value);
  return parsed.ok ? parsed.value : value;
}

/** DSCP names Calico accepts (case-insensitively) besides plain numbers 0–63. */
export const DSCP_NAMES: Readonly<Record<string, number>> = {
  DF: 0,
  EF: 46,
  AF11: 10,
  AF12: 12,
  AF13: 14,
  AF21: 18,
  AF22: 20,
  AF23: 22,
  AF31: 26,
  AF32: 28,
  AF33: 30,
  AF41: 34,
  AF42: 36,
  AF43: 38,
  CS0: 0,
  CS1: 8,
  CS2: 16,
  CS3: 24,
  CS4: 32,
  CS5: 40,
  CS6: 48,
};

export function canonicalDSCP(value: unknown): unknown {
  if (typeof value !== "string") return value;
  if (digits.test(value) && Number(value) <= 255) return Number(value);
  const name = Object.keys(DSCP_NAMES).find((k) => k.toLowerCase() === value.toLowerCase());
  return name ?? value;
}

export function dscpError(value: unknown): string | undefined {
  const v = canonicalDSCP(value);
  if (typeof v === "number") {
    return Number.isInteger(v) && v >= 0 && v <= 63 ? undefined : "DSCP value must be between 0 and 63";
  }
  if (typeof v === "string") return v in DSCP_NAMES ? undefined : `invalid DSCP name (${v})`;
  return "DSCP must be a number or a name";
}
