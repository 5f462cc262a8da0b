/**
 * calicoctl create / apply / replace / delete / validate as a subprocess against a real etcd:
 * result messages, exit status, inputs, namespaces and the start-of-day objects.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CliEnv, doc, pool, startCliEnv, V3 } from "./cli.js";

let env: CliEnv;
let dir: string;

beforeAll(async () => {
  [env, dir] = await Promise.all([startCliEnv(), mkdtemp(join(tmpdir(), "calicoctl-write-"))]);
});
afterAll(async () => {
  await Promise.all([env?.stop(), rm(dir, { recursive: true, force: true })]);
});
beforeEach(async () => {
  await env.clean();
});

async function file(name: string, text: string, under = dir): Promise<string> {
  const path = join(under, name);
  await writeFile(path, text);
  return path;
}

const policy = (name: string, ns = "", spec = "  selector: app == 'web'") =>
  doc("NetworkPolicy", `  name: ${name}${ns ? `\n  namespace: ${ns}` : ""}`, spec);

describe("start of day", () => {
  it("creates the tiers and ClusterInformation before a NetworkPolicy in an empty etcd", async () => {
    const res = await env.run(["create", "-f", "-"], { input: policy("allow-web", "prod") });
    expect(res).toMatchObject({ code: 0, stdout: "Successfully created 1 'NetworkPolicy' resource(s)\n" });
    for (const tier of ["default", "kube-admin", "kube-baseline"])
      expect(await env.stored(`tiers/${tier}`)).toBeDefined();
    const info = await env.stored("clusterinformations/default");
    expect(info?.spec).toMatchObject({
      datastoreReady: true,
      clusterGUID: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect((await env.stored("networkpolicies/prod/allow-web"))?.spec).toEqual({
      tier: "default",
      selector: "app == 'web'",
      types: ["Ingress"],
    });
  });

  it("rejects a NetworkPolicy naming a missing tier", async () => {
    const res = await env.run(["create", "-f", "-"], {
      input: policy("security.p", "prod", "  tier: security\n  selector: all()"),
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      "failed to create 'NetworkPolicy' resource: [resource does not exist: Tier(security) with error: <nil>]\n",
    );
    expect(await env.stored("networkpolicies/prod/security.p")).toBeUndefined();
  });

  it("refuses to delete the default tier", async () => {
    await env.run(["create", "-f", "-"], { input: policy("p", "prod") });
    const res = await env.run(["delete", "tier", "default"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      "Failed to delete 'Tier' resource: operation Delete is not supported on default: Cannot delete default tier\n",
    );
    expect(await env.stored("tiers/default")).toBeDefined();
  });

  it("rejects IPPool 10.0.0.1/24 and stores 10.0.0.0/24 with every default", async () => {
    const bad = await env.run(["create", "-f", "-"], { input: pool("p", "10.0.0.1/24") });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("IPPool CIDR is not strictly masked");
    expect(await env.stored("ippools/p")).toBeUndefined();
    const good = await env.run(["create", "-f", "-"], { input: pool("p", "10.0.0.0/24") });
    expect(good.stdout).toBe("Successfully created 1 'IPPool' resource(s)\n");
    expect((await env.stored("ippools/p"))?.spec).toEqual({
      cidr: "10.0.0.0/24",
      vxlanMode: "Never",
      ipipMode: "Never",
      blockSize: 26,
      nodeSelector: "all()",
      allowedUses: ["Workload", "Tunnel"],
      assignmentMode: "Automatic",
    });
  });
});

describe("result messages", () => {
  it("counts a mixed-kind file without naming a kind", async () => {
    const res = await env.run(["create", "-f", "-"], {
      input: `${pool("a", "10.1.0.0/16")}---\n${policy("p", "ns1")}`,
    });
    expect(res).toMatchObject({ code: 0, stdout: "Successfully created 2 resource(s)\n", stderr: "" });
  });

  it("lists every failure when nothing was created", async () => {
    await env.run(["create", "-f", "-"], {
      input: `${pool("a", "10.1.0.0/16")}---\n${pool("b", "10.2.0.0/16")}`,
    });
    const again = await env.run(["create", "-f", "-"], {
      input: `${pool("a", "10.1.0.0/16")}---\n${pool("b", "10.2.0.0/16")}`,
    });
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr).toBe(
      "failed to create any 'IPPool' resources: [resource already exists: IPPool(a) with error: <nil> " +
        "resource already exists: IPPool(b) with error: <nil>]\n",
    );
    const mixed = await env.run(["create", "-f", "-"], {
      input: `${pool("a", "10.1.0.0/16")}---\n${doc("Tier", "  name: default", "  order: 1000000")}`,
    });
    expect(mixed.stderr).toMatch(/^failed to create any resources: \[resource already exists: IPPool\(a\)/);
  });

  it("reports partial success, printing the summary only when successes outnumber failures", async () => {
    await env.run(["create", "-f", "-"], { input: pool("a", "10.1.0.0/16") });
    const three = await env.run(["create", "-f", "-"], {
      input: `${pool("a", "10.1.0.0/16")}---\n${pool("b", "10.2.0.0/16")}---\n${pool("c", "10.3.0.0/16")}`,
    });
    expect(three.code).toBe(1);
    expect(three.stdout).toBe("Partial success: created the first 2 out of 3 'IPPool' resources:\n");
    expect(three.stderr).toBe("hit error: [resource already exists: IPPool(a) with error: <nil>]\n");
    const two = await env.run(["create", "-f", "-"], {
      input: `${pool("a", "10.1.0.0/16")}---\n${pool("d", "10.4.0.0/16")}`,
    });
    expect(two.stdout).toBe("");
    expect(two.stderr).toBe("hit error: [resource already exists: IPPool(a) with error: <nil>]\n");
    expect(await env.stored("ippools/d")).toBeDefined();
  });

  it("--skip-exists counts existing resources as created", async () => {
    await env.run(["create", "-f", "-"], { input: pool("a", "10.1.0.0/16") });
    const res = await env.run(["create", "--skip-exists", "-f", "-"], {
      input: `${pool("a", "10.1.0.0/16")}---\n${pool("b", "10.2.0.0/16")}`,
    });
    expect(res).toMatchObject({ code: 0, stdout: "Successfully created 2 'IPPool' resource(s)\n" });
  });

  it("apply creates, then updates the whole spec", async () => {
    const first = await env.run(["apply", "-f", "-"], {
      input: pool("a", "10.1.0.0/16", "  natOutgoing: true"),
    });
    expect(first.stdout).toBe("Successfully applied 1 'IPPool' resource(s)\n");
    const created = await env.stored("ippools/a");
    const second = await env.run(["apply", "-f", "-"], {
      input: pool("a", "10.1.0.0/16", "  disabled: true"),
    });
    expect(second.stdout).toBe("Successfully applied 1 'IPPool' resource(s)\n");
    const updated = await env.stored("ippools/a");
    expect(updated?.spec).toMatchObject({ disabled: true });
    expect(updated?.spec?.natOutgoing).toBeUndefined();
    expect(updated?.metadata.uid).toBe(created?.metadata.uid);
  });

  it("apply refuses ClusterInformation", async () => {
    const res = await env.run(["apply", "-f", "-"], {
      input: doc("ClusterInformation", "  name: default", "  clusterGUID: abc"),
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      "failed to apply 'ClusterInformation' resource: [operation apply is not supported on ClusterInformation: resource is readonly]\n",
    );
  });

  it("replace updates existing resources and fails on missing ones", async () => {
    const missing = await env.run(["replace", "-f", "-"], { input: pool("a", "10.1.0.0/16") });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      "failed to replace 'IPPool' resource: resource does not exist: IPPool(a) with error: <nil>\n",
    );
    await env.run(["create", "-f", "-"], {
      input: `${pool("a", "10.1.0.0/16")}---\n${pool("b", "10.2.0.0/16")}`,
    });
    const ok = await env.run(["replace", "-f", "-"], {
      input: pool("a", "10.1.0.0/16", "  natOutgoing: true"),
    });
    expect(ok).toMatchObject({ code: 0, stdout: "Successfully replaced 1 'IPPool' resource(s)\n" });
    expect((await env.stored("ippools/a"))?.spec).toMatchObject({ natOutgoing: true });
    const partial = await env.run(["replace", "-f", "-"], {
      input: `${pool("b", "10.2.0.0/16")}---\n${pool("zz", "10.9.0.0/16")}---\n${pool("a", "10.1.0.0/16")}`,
    });
    expect(partial.stdout).toBe("Partial success: replaced the first 1 out of 3 'IPPool' resources:\n");
    expect(partial.stderr).toBe("hit error: resource does not exist: IPPool(zz) with error: <nil>\n");
    expect((await env.stored("ippools/a"))?.spec).toMatchObject({ natOutgoing: true });
  });

  it("replace with a stale resourceVersion is an update conflict", async () => {
    await env.run(["create", "-f", "-"], { input: pool("a", "10.1.0.0/16") });
    const res = await env.run(["replace", "-f", "-"], {
      input: doc("IPPool", '  name: a\n  resourceVersion: "1"', "  cidr: 10.1.0.0/16\n  natOutgoing: true"),
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe("failed to replace 'IPPool' resource: update conflict: IPPool(a)\n");
    const applied = await env.run(["apply", "-f", "-"], {
      input: doc("IPPool", '  name: a\n  resourceVersion: "1"', "  cidr: 10.1.0.0/16\n  natOutgoing: true"),
    });
    expect(applied.stderr).toBe("failed to apply 'IPPool' resource: [update conflict: IPPool(a)]\n");
    expect((await env.stored("ippools/a"))?.spec).not.toHaveProperty("natOutgoing");
  });

  it("create refuses a resourceVersion in the document", async () => {
    const res = await env.run(["create", "-f", "-"], {
      input: doc("IPPool", '  name: a\n  resourceVersion: "12345"', "  cidr: 10.1.0.0/16"),
    });
    expect(res.stderr).toContain(
      "Metadata.ResourceVersion = '12345' (field must not be set for a Create request)",
    );
  });

  it("delete reports successes, then one line per failure; --skip-not-exists succeeds", async () => {
    await env.run(["create", "-f", "-"], {
      input: `${pool("a", "10.1.0.0/16")}---\n${pool("b", "10.2.0.0/16")}`,
    });
    const res = await env.run(["delete", "ippool", "a", "x", "y"]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe("Successfully deleted 1 'IPPool' resource(s)\n");
    expect(res.stderr).toBe(
      "Failed to delete 'IPPool' resource: resource does not exist: IPPool(x) with error: <nil>\n" +
        "Failed to delete 'IPPool' resource: resource does not exist: IPPool(y) with error: <nil>\n",
    );
    const skip = await env.run(["delete", "pools", "b", "x", "--skip-not-exists"]);
    expect(skip).toMatchObject({ code: 0, stdout: "Successfully deleted 2 'IPPool' resource(s)\n" });
    expect(await env.stored("ippools/b")).toBeUndefined();
  });

  it("delete by file honours a resourceVersion precondition", async () => {
    await env.run(["create", "-f", "-"], { input: doc("Tier", "  name: t", "  order: 10") });
    const stale = await env.run(["delete", "-f", "-"], {
      input: doc("Tier", '  name: t\n  resourceVersion: "2"'),
    });
    expect(stale.stderr).toBe("Failed to delete 'Tier' resource: update conflict: Tier(t)\n");
    const ok = await env.run(["delete", "-f", "-"], { input: doc("Tier", "  name: t") });
    expect(ok.stdout).toBe("Successfully deleted 1 'Tier' resource(s)\n");
  });

  it("validate checks offline and reports like create", async () => {
    const ok = await env.run(["validate", "-f", "-"], {
      input: `${pool("a", "10.1.0.0/16")}---\n${pool("b", "10.2.0.0/16")}`,
    });
    expect(ok).toMatchObject({ code: 0, stdout: "Successfully validated 2 'IPPool' resource(s)\n" });
    const bad = await env.run(["validate", "-f", "-"], { input: pool("a", "10.1.0.1/16") });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^failed to validate 'IPPool' resource: \[error with field .*not strictly masked/,
    );
    expect(await env.keys()).toEqual([]);
  });

  it("an empty input prints 'No resources specified' with --skip-empty, else fails", async () => {
    const empty = await file("empty.yaml", "# nothing\n");
    const fail = await env.run(["create", "-f", empty]);
    expect(fail).toMatchObject({ code: 1, stderr: `no resources specified in file ${empty}\n` });
    const skip = await env.run(["create", "--skip-empty", "-f", empty]);
    expect(skip).toMatchObject({ code: 0, stdout: "No resources specified\n" });
  });
});

describe("refused names and kinds", () => {
  it("refuses knp.default. names in v3 documents", async () => {
    const res = await env.run(["apply", "-f", "-"], { input: policy("knp.default.x", "prod") });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      "operation apply or replace is not supported on NetworkPolicy(prod/knp.default.x): " +
        "kubernetes network policies must be managed through the kubernetes API",
    );
    expect(await env.stored("networkpolicies/prod/knp.default.x")).toBeUndefined();
  });

  it("applies a Kubernetes NetworkPolicy as knp.default.<name>, and deletes it by the same file", async () => {
    const knp = await file(
      "knp.yaml",
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\nspec:\n" +
        "  podSelector:\n    matchLabels:\n      app: web\n  ingress:\n  - ports:\n    - port: 80\n",
    );
    const res = await env.run(["apply", "-n", "prod", "-f", knp]);
    expect(res).toMatchObject({ code: 0, stdout: "Successfully applied 1 'NetworkPolicy' resource(s)\n" });
    const stored = await env.stored("networkpolicies/prod/knp.default.web");
    expect(stored?.spec).toMatchObject({ tier: "default", order: 1000, types: ["Ingress"] });
    expect(String(stored?.spec?.selector)).toContain("app == 'web'");
    const refused = await env.run(["delete", "np", "knp.default.web", "-n", "prod"]);
    expect(refused.code).toBe(1);
    const del = await env.run(["delete", "-n", "prod", "-f", knp]);
    expect(del.stdout).toBe("Successfully deleted 1 'NetworkPolicy' resource(s)\n");
    expect(await env.stored("networkpolicies/prod/knp.default.web")).toBeUndefined();
  });
});

describe("inputs", () => {
  it("reads multi-document YAML, JSON, sequences and Lists from files, directories and stdin", async () => {
    const inputs = await mkdtemp(join(dir, "inputs-"));
    await file(
      "a.yaml",
      `${pool("a", "10.1.0.0/16")}--- trailing text is ignored\n${pool("b", "10.2.0.0/16")}`,
      inputs,
    );
    await file(
      "b.json",
      JSON.stringify({
        apiVersion: "projectcalico.org/v3",
        kind: "GlobalNetworkSetList",
        items: [
          { metadata: { name: "s1" }, spec: { nets: ["1.2.3.4/32"] } },
          { kind: "GlobalNetworkSet", metadata: { name: "s2" } },
        ],
      }),
      inputs,
    );
    await file("c.txt", pool("ignored", "10.3.0.0/16"), inputs);
    const res = await env.run(["create", "-f", inputs]);
    expect(res).toMatchObject({ code: 0, stdout: "Successfully created 4 resource(s)\n" });
    expect(await env.stored("ippools/ignored")).toBeUndefined();
    const seq = `- ${V3}\n  kind: Tier\n  metadata:\n    name: t1\n- ${V3}\n  kind: Tier\n  metadata:\n    name: t2\n`;
    const stdin = await env.run(["create", "-f", "-"], { input: seq });
    expect(stdin.stdout).toBe("Successfully created 2 'Tier' resource(s)\n");
    expect((await env.stored("tiers/t2"))?.spec).toEqual({ order: 1000000, defaultAction: "Deny" });
  });

  it("recurses into sub-directories only with -R", async () => {
    const root = await mkdtemp(join(dir, "tree-"));
    const sub = join(root, "sub");
    await mkdir(sub);
    await writeFile(join(root, "top.yaml"), pool("top", "10.1.0.0/16"));
    await writeFile(join(sub, "deep.yml"), pool("deep", "10.2.0.0/16"));
    expect((await env.run(["create", "-f", root])).stdout).toBe(
      "Successfully created 1 'IPPool' resource(s)\n",
    );
    expect(await env.stored("ippools/deep")).toBeUndefined();
    const deep = await env.run(["create", "-R", "--skip-exists", "-f", root]);
    expect(deep.stdout).toBe("Successfully created 2 'IPPool' resource(s)\n");
    expect(await env.stored("ippools/deep")).toBeDefined();
  });

  it.each([
    ["malformed YAML", `${pool("ok", "10.1.0.0/16")}---\nspec: [\n`, /^failed to execute command: yaml: /],
    [
      "an unknown kind",
      `${pool("ok", "10.1.0.0/16")}---\n${V3}\nkind: Bogus\nmetadata:\n  name: x\n`,
      /^failed to execute command: unknown resource type \(Bogus\) and\/or version \(projectcalico.org\/v3\)\n$/,
    ],
    [
      "an unknown field",
      `${pool("ok", "10.1.0.0/16")}---\n${doc("BGPPeer", "  name: p", "  peerIP: 10.0.0.1\n  unknown: thing")}`,
      /^field in document is not recognized or is in the wrong location: unknown\n$/,
    ],
    [
      "a wrong apiVersion",
      "apiVersion: v1\nkind: IPPool\nmetadata:\n  name: x\n",
      /unknown resource type \(IPPool\) and\/or version \(v1\)/,
    ],
  ])("rejects %s and writes nothing", async (_what, input, message) => {
    const res = await env.run(["apply", "-f", "-"], { input });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(message);
    expect(await env.keys()).toEqual([]);
  });

  it("reports a missing file", async () => {
    const res = await env.run(["create", "-f", join(dir, "nope.yaml")]);
    expect(res).toMatchObject({
      code: 1,
      stderr: `failed to execute command: open ${join(dir, "nope.yaml")}: no such file or directory\n`,
    });
  });
});

describe("namespaces", () => {
  it("fills the namespace from -n, defaults to 'default', and refuses a mismatch", async () => {
    expect((await env.run(["create", "-n", "ns1", "-f", "-"], { input: policy("a") })).code).toBe(0);
    expect(await env.stored("networkpolicies/ns1/a")).toBeDefined();
    expect((await env.run(["create", "-f", "-"], { input: policy("b") })).code).toBe(0);
    expect(await env.stored("networkpolicies/default/b")).toBeDefined();
    const clash = await env.run(["create", "-n", "ns2", "-f", "-"], { input: policy("c", "ns1") });
    expect(clash.stderr).toBe(
      "failed to create 'NetworkPolicy' resource: [resource namespace does not match client namespace. ns1 != ns2]\n",
    );
  });

  it("refuses namespaces on cluster-scoped kinds", async () => {
    const inDoc = await env.run(["create", "-f", "-"], {
      input: doc("IPPool", "  name: p\n  namespace: x", "  cidr: 10.1.0.0/16"),
    });
    expect(inDoc.stderr).toContain(
      "namespace should not be specified for a non-namespaced resource. IPPool is not a namespaced resource",
    );
    const flag = await env.run(["create", "-n", "x", "-f", "-"], { input: pool("p", "10.1.0.0/16") });
    expect(flag.stderr).toBe("failed to create 'IPPool' resource: [IPPool is not namespaced]\n");
  });

  it("refuses -n together with -A", async () => {
    const res = await env.run(["get", "np", "-n", "a", "-A"]);
    expect(res.stderr).toBe("cannot use both --namespace and --all-namespaces flags at the same time\n");
  });
});
