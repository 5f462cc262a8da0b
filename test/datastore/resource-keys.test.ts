import { describe, expect, it } from "vitest";
import { kindInfo } from "../../src/api/kinds.js";
import { listPrefix, parseResourcePath, resourcePath } from "../../src/datastore/resources/keys.js";

const ippool = kindInfo("IPPool")!;
const np = kindInfo("NetworkPolicy")!;
const ROOT = "/calico/resources/v3/projectcalico.org";

describe("resource key layout", () => {
  it("builds cluster and namespaced paths", () => {
    expect(resourcePath(ippool, { kind: "IPPool", name: "default-ipv4-ippool" })).toBe(
      `${ROOT}/ippools/default-ipv4-ippool`,
    );
    expect(resourcePath(np, { kind: "NetworkPolicy", name: "allow-web", namespace: "prod" })).toBe(
      `${ROOT}/networkpolicies/prod/allow-web`,
    );
  });

  it("ends list prefixes with a slash", () => {
    expect(listPrefix(np, "ns1")).toBe(`${ROOT}/networkpolicies/ns1/`);
    expect(listPrefix(np)).toBe(`${ROOT}/networkpolicies/`);
    expect(listPrefix(ippool, "ignored")).toBe(`${ROOT}/ippools/`);
  });

  it("parses paths back, un-escaping %2f and %25", () => {
    expect(parseResourcePath(np, `${ROOT}/networkpolicies/a%2fb/c%25d`)).toEqual({
      kind: "NetworkPolicy",
      namespace: "a/b",
      name: "c%d",
    });
    expect(parseResourcePath(ippool, `${ROOT}/ippools/p1`)).toEqual({ kind: "IPPool", name: "p1" });
  });

  it("rejects paths with the wrong shape for the kind's scope", () => {
    expect(parseResourcePath(ippool, `${ROOT}/ippools/ns/p1`)).toBeUndefined();
    expect(parseResourcePath(np, `${ROOT}/networkpolicies/only-name`)).toBeUndefined();
    expect(parseResourcePath(np, `${ROOT}/networkpolicies/ns/`)).toBeUndefined();
    expect(parseResourcePath(ippool, `${ROOT}/ippoolsx/p1`)).toBeUndefined();
    expect(parseResourcePath(ippool, "/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26")).toBeUndefined();
  });
});
