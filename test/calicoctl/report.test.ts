/** calicoctl's result messages, from the engine's counts. */
import { describe, expect, it } from "vitest";
import type { CommandResults } from "../../src/calicoctl/execute.js";
import { reportCreateLike, reportDelete, reportReplace } from "../../src/calicoctl/report.js";

function results(
  numResources: number,
  numHandled: number,
  errors: string[],
  singleKind = "IPPool",
): CommandResults {
  return { numResources, numHandled, singleKind, outputs: [], errors: errors.map((m) => new Error(m)) };
}

function capture(fn: (out: (t: string) => void) => void): { out: string; err?: string } {
  let out = "";
  try {
    fn((t) => {
      out += t;
    });
    return { out };
  } catch (e) {
    return { out, err: (e as Error).message };
  }
}

describe("create / apply / validate", () => {
  it.each([
    [results(2, 2, []), { out: "Successfully applied 2 'IPPool' resource(s)\n" }],
    [results(2, 2, [], ""), { out: "Successfully applied 2 resource(s)\n" }],
    [results(1, 0, ["e1"]), { out: "", err: "failed to apply 'IPPool' resource: [e1]" }],
    [results(2, 0, ["e1", "e2"]), { out: "", err: "failed to apply any 'IPPool' resources: [e1 e2]" }],
    [results(2, 0, ["e1", "e2"], ""), { out: "", err: "failed to apply any resources: [e1 e2]" }],
    [
      results(3, 2, ["e1"]),
      { out: "Partial success: applied the first 2 out of 3 'IPPool' resources:\n", err: "hit error: [e1]" },
    ],
    [results(2, 1, ["e1"]), { out: "", err: "hit error: [e1]" }],
    [results(0, 0, []), { out: "No resources specified\n" }],
  ])("%#", (r, expected) => {
    expect(capture((out) => reportCreateLike("apply", r, out))).toEqual(expected);
  });
});

describe("replace and delete", () => {
  it("replace names the first failure", () => {
    expect(capture((out) => reportReplace(results(1, 0, ["update conflict: IPPool(a)"]), out))).toEqual({
      out: "",
      err: "failed to replace 'IPPool' resource: update conflict: IPPool(a)",
    });
    expect(capture((out) => reportReplace(results(3, 0, ["e"]), out)).err).toBe(
      "failed to replace any 'IPPool' resources: e",
    );
    expect(capture((out) => reportReplace(results(3, 1, ["e"]), out))).toEqual({
      out: "Partial success: replaced the first 1 out of 3 'IPPool' resources:\n",
      err: "hit error: e",
    });
  });

  it("delete prints the successes, then one line per failure", () => {
    expect(capture((out) => reportDelete(results(3, 1, ["e1", "e2"]), out))).toEqual({
      out: "Successfully deleted 1 'IPPool' resource(s)\n",
      err: "Failed to delete 'IPPool' resource: e1\nFailed to delete 'IPPool' resource: e2",
    });
    expect(capture((out) => reportDelete(results(1, 0, ["e1"], ""), out))).toEqual({
      out: "",
      err: "Failed to delete resource: e1",
    });
  });
});
