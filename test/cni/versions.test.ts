import { describe, expect, it } from "vitest";
import { CniError, toCniError } from "../../src/cni/errors.js";
import {
  assertSupportedVersion,
  assertVerbAllowed,
  compareVersions,
  versionInfo,
} from "../../src/cni/versions.js";

describe("versions", () => {
  it("lists the supported versions in VERSION output", () => {
    expect(versionInfo()).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
  });

  it("rejects versions it does not speak with code 1", () => {
    expect(() => assertSupportedVersion("1.2.0")).toThrow("unsupported CNI version 1.2.0");
    try {
      assertSupportedVersion("0.5.0");
    } catch (err) {
      expect((err as CniError).code).toBe(1);
    }
    expect(() => assertSupportedVersion("0.3.1")).not.toThrow();
  });

  it("gates CHECK on 0.4.0 and STATUS/GC on 1.1.0", () => {
    expect(() => assertVerbAllowed("CHECK", "0.3.1")).toThrow("config version does not allow CHECK");
    expect(() => assertVerbAllowed("CHECK", "0.4.0")).not.toThrow();
    expect(() => assertVerbAllowed("STATUS", "1.0.0")).toThrow("does not allow STATUS");
    expect(() => assertVerbAllowed("GC", "1.1.0")).not.toThrow();
  });

  it("compares numerically", () => {
    expect(compareVersions("0.10.0", "0.9.0")).toBeGreaterThan(0);
    expect(compareVersions("1.0.0", "1.0.0")).toBe(0);
    expect(compareVersions("x", "1.0.0")).toBeUndefined();
  });
});

describe("errors", () => {
  it("serialises without empty details and wraps plain errors as 999", () => {
    expect(JSON.stringify(new CniError(7, "bad"))).toBe('{"code":7,"msg":"bad"}');
    expect(new CniError(4, "m", "d").toJSON()).toEqual({ code: 4, msg: "m", details: "d" });
    expect(toCniError(new Error("boom")).toJSON()).toEqual({ code: 999, msg: "boom" });
  });
});
