import { describe, expect, it } from "vitest";
import { felixSources } from "../../src/datastore/index.js";

const ROOT = "/calico/resources/v3/projectcalico.org";

describe("felixSources", () => {
  it("watches enforced policies but no staged policy key", () => {
    const sources = felixSources();
    const watching = (key: string) => sources.filter((s) => key.startsWith(s.prefix)).map((s) => s.name);
    expect(watching(`${ROOT}/networkpolicies/default/p`)).toEqual(["NetworkPolicy"]);
    expect(watching(`${ROOT}/globalnetworkpolicies/p`)).toEqual(["GlobalNetworkPolicy"]);
    for (const key of [
      `${ROOT}/stagednetworkpolicies/default/p`,
      `${ROOT}/stagedglobalnetworkpolicies/p`,
      `${ROOT}/stagedkubernetesnetworkpolicies/default/p`,
    ]) {
      expect(watching(key), key).toEqual([]);
    }
  });
});
