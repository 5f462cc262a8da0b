/** Grouping and compression of Kubernetes policy ports into Calico rule ports. */
import { type PortValue, PROTOCOL_NAMES } from "../values.js";

/** Names match case-insensitively, as Calico's `ProtocolFromString` does. */
export function normaliseProtocolName(text: string): string {
  return PROTOCOL_NAMES.find((n) => n.toLowerCase() === text.toLowerCase()) ?? text;
}

/**
 * Named ports first (as given), then the numeric ports merged into sorted, coalesced ranges
 * (`80, 81, 82, 90` → `80:82, 90`). Lists with fewer than two numeric ports are left alone.
 */
export function simplifyPorts(ports: readonly PortValue[]): PortValue[] {
  const numeric = ports.filter((p) => p.name === undefined);
  const count = numeric.reduce((n, p) => n + (p.max - p.min + 1), 0);
  if (ports.length <= 1 || count <= 1) return [...ports];
  const sorted = [...numeric].sort((a, b) => a.min - b.min);
  const merged: PortValue[] = [];
  for (const p of sorted) {
    const last = merged[merged.length - 1];
    if (last && p.min <= last.max + 1) last.max = Math.max(last.max, p.max);
    else merged.push({ min: p.min, max: p.max });
  }
  return [...ports.filter((p) => p.name !== undefined), ...merged];
}

/**
 * Accumulates ports per protocol. An entry without a port number makes its protocol "all
 * ports", which then ignores every number given for that protocol, before or after.
 */
export class ProtocolPorts {
  private readonly groups = new Map<string, PortValue[] | null>();

  add(protocol: string, port: PortValue | undefined): void {
    if (port === undefined) {
      this.groups.set(protocol, null);
      return;
    }
    const current = this.groups.get(protocol);
    if (current === null) return;
    this.groups.set(protocol, [...(current ?? []), port]);
  }

  /** Protocols in sorted order with their simplified ports (`undefined` = all ports). */
  entries(): [string, PortValue[] | undefined][] {
    return [...this.groups.keys()].sort().map((protocol) => {
      const ports = this.groups.get(protocol);
      return [protocol, ports ? simplifyPorts(ports) : undefined];
    });
  }
}
