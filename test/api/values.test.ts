import { describe, expect, it } from "vitest";
import {
  canonicalPort,
  canonicalProtocol,
  formatGoDuration,
  parseASNumber,
  parseGoDuration,
  parsePort,
  portError,
  protocolError,
  protocolSupportsPorts,
} from "../../src/api/index.js";

describe("Protocol", () => {
  it("turns digit strings into numbers and keeps names", () => {
    expect(canonicalProtocol("6")).toBe(6);
    expect(canonicalProtocol("TCP")).toBe("TCP");
    expect(canonicalProtocol("256")).toBe("256");
  });

  it("accepts 1-255 and the exact names only", () => {
    expect(protocolError(1)).toBeUndefined();
    expect(protocolError("ICMPv6")).toBeUndefined();
    expect(protocolError(0)).toBe("protocol number invalid");
    expect(protocolError(256)).toBe("protocol number invalid");
    expect(protocolError("tcp")).toBe("protocol name invalid");
    expect(protocolError("256")).toBe("protocol name invalid");
  });

  it("knows which protocols carry ports", () => {
    expect([6, 17, 132, "TCP", "UDP", "SCTP", "17"].every(protocolSupportsPorts)).toBe(true);
    expect([1, "ICMP", "UDPLite", 58].some(protocolSupportsPorts)).toBe(false);
  });
});

describe("Port", () => {
  it("parses numbers, ranges and names into the canonical form", () => {
    expect(canonicalPort("80")).toBe(80);
    expect(canonicalPort(80)).toBe(80);
    expect(canonicalPort("8000:9000")).toBe("8000:9000");
    expect(canonicalPort("10:10")).toBe(10);
    expect(canonicalPort("http")).toBe("http");
    expect(parsePort("http")).toEqual({ ok: true, value: { min: 0, max: 0, name: "http" } });
  });

  it("reports Calico's parse errors", () => {
    expect(portError("65536")).toBe("invalid port format (65536)");
    expect(portError("9000:8000")).toBe(
      "minimum port number (9000) is greater than maximum port number (8000) in port range",
    );
    expect(portError("1:70000")).toBe("invalid maximum port number in range (1:70000)");
    expect(portError("bad port!")).toBe("invalid name for named port (bad port!)");
    expect(portError(0)).toBe("port range invalid, port number must be between 1 and 65535");
    expect(portError("0:10")).toBe("port range invalid, port number must be between 1 and 65535");
    expect(portError("443")).toBeUndefined();
  });
});

describe("ASNumber", () => {
  it("accepts plain and dotted forms", () => {
    expect(parseASNumber("1.10")).toEqual({ ok: true, value: 65546 });
    expect(parseASNumber(64512)).toEqual({ ok: true, value: 64512 });
    expect(parseASNumber("4294967295")).toEqual({ ok: true, value: 4294967295 });
    expect(parseASNumber("1.70000")).toEqual({ ok: false, error: "invalid AS Number format (1.70000)" });
    expect(parseASNumber(-1).ok).toBe(false);
  });
});

describe("Go durations", () => {
  it("parses and prints like Go's time package", () => {
    expect(parseGoDuration("1m30s")).toBe(90_000_000_000n);
    expect(parseGoDuration("0")).toBe(0n);
    expect(parseGoDuration("1.5h")).toBe(5_400_000_000_000n);
    expect(parseGoDuration("90")).toBeUndefined();
    expect(parseGoDuration("x")).toBeUndefined();
    expect(formatGoDuration(90_000_000_000n)).toBe("1m30s");
    expect(formatGoDuration(3_600_000_000_000n)).toBe("1h0m0s");
    expect(formatGoDuration(1_500_000n)).toBe("1.5ms");
    expect(formatGoDuration(1_500_000_000n)).toBe("1.5s");
    expect(formatGoDuration(-2_000_000_000n)).toBe("-2s");
  });
});
