/**
 * calicoctl get / patch / label / version as a subprocess against a real etcd: output bytes
 * of every format, the version-mismatch guard and an unreachable datastore.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CliEnv, doc, pool, runCalicoctl, startCliEnv } from "./cli.js";

let env: CliEnv;

beforeAll(async () => {
  env = await startCliEnv();
});
afterAll(async () => {
  await env?.stop();
});
beforeEach(async () => {
  await env.clean();
});

const POOL1 = pool("ippool-name1", "10.0.1.0/24", "  ipipMode: Always\n  nodeSelector: foo == 'bar'");

async function create(input: string): Promise<void> {
  const res = await env.run(["create", "-f", "-"], { input });
  expect(res.stderr).toBe("");
}

async function putClusterInformation(spec: Record<string, unknown>): Promise<void> {
  await env.client.put("/calico/resources/v3/projectcalico.org/clusterinformations/default").value(
    JSON.stringify({
      kind: "ClusterInformation",
      apiVersion: "projectcalico.org/v3",
      metadata: { name: "default", uid: "u1", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec,
    }),
  );
}

describe("tables", () => {
  it("prints the IPPool default and wide tables byte for byte", async () => {
    await create(POOL1);
    const ps = await env.run(["get", "ippool"]);
    expect(ps).toMatchObject({ code: 0, stderr: "" });
    expect(ps.stdout).toBe(
      "NAME           CIDR          SELECTOR       \n" +
        "ippool-name1   10.0.1.0/24   foo == 'bar'   \n" +
        "\n",
    );
    const wide = await env.run(["get", "ippool", "-o", "wide"]);
    expect(wide.stdout).toBe(
      "NAME           CIDR          NAT     IPIPMODE   VXLANMODE   DISABLED   DISABLEBGPEXPORT   SELECTOR       ASSIGNMENTMODE   \n" +
        "ippool-name1   10.0.1.0/24   false   Always     Never       false      false              foo == 'bar'   Automatic        \n" +
        "\n",
    );
  });

  it("prints one table per named object and reports missing names after them", async () => {
    await create(`${POOL1}---\n${pool("p2", "10.0.2.0/24")}`);
    const res = await env.run(["get", "ippools", "p2", "blah", "ippool-name1"]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe(
      "NAME   CIDR          SELECTOR   \np2     10.0.2.0/24   all()      \n\n" +
        "NAME           CIDR          SELECTOR       \nippool-name1   10.0.1.0/24   foo == 'bar'   \n\n",
    );
    expect(res.stderr).toBe("resource does not exist: IPPool(blah) with error: <nil>\n");
  });

  it("adds a NAMESPACE column with -A or -n, and lists tiers in order with Go's float format", async () => {
    await create(
      `${doc("NetworkPolicy", "  name: a\n  namespace: ns1", "  order: 100\n  selector: all()")}---\n` +
        doc("NetworkPolicy", "  name: b\n  namespace: ns2", "  selector: x == 'y'"),
    );
    const all = await env.run(["get", "networkpolicy", "-A", "-o", "wide"]);
    expect(all.stdout).toBe(
      "NAMESPACE   NAME   TIER      ORDER   SELECTOR   \n" +
        "ns1         a      default   100     all()      \n" +
        "ns2         b      default   <nil>   x == 'y'   \n\n",
    );
    expect((await env.run(["get", "NP"])).stdout).toBe("NAME   TIER   \n\n");
    expect((await env.run(["get", "pol", "-n", "ns2"])).stdout).toBe(
      "NAMESPACE   NAME   TIER      \nns2         b      default   \n\n",
    );
    expect((await env.run(["get", "tiers"])).stdout).toBe(
      "NAME            ORDER   \nkube-admin      1000    \ndefault         1e+06   \nkube-baseline   1e+07   \n\n",
    );
  });

  it("accepts custom columns and names the valid ones for an unknown heading", async () => {
    await create(POOL1);
    expect((await env.run(["get", "ipp", "-o", "custom-columns=name,nat"])).stdout).toBe(
      "NAME           NAT     \nippool-name1   false   \n\n",
    );
    const bad = await env.run(["get", "ipp", "-o", "custom-columns=NAME,BOGUS"]);
    expect(bad).toMatchObject({ code: 1, stdout: "" });
    expect(bad.stderr).toBe(
      "unknown heading BOGUS, valid values are: NAME, CIDR, NAT, IPIPMODE, VXLANMODE, DISABLED, DISABLEBGPEXPORT, SELECTOR, ASSIGNMENTMODE\n",
    );
  });

  it("shows Node ASNs, defaulting to the cluster AS in parentheses", async () => {
    await create(
      `${doc("Node", "  name: n1", "  bgp:\n    ipv4Address: 10.0.0.1/24")}---\n` +
        doc("Node", "  name: n2", "  bgp:\n    ipv4Address: 10.0.0.2/24\n    asNumber: 65001"),
    );
    expect((await env.run(["get", "nodes", "-o", "wide"])).stdout).toBe(
      "NAME   ASN       IPV4          IPV6   \nn1     (64512)   10.0.0.1/24          \nn2     65001     10.0.0.2/24          \n\n",
    );
    await create(doc("BGPConfiguration", "  name: default", "  asNumber: 65000"));
    expect((await env.run(["get", "no", "n1", "-o", "wide"])).stdout).toContain("n1     (65000)   ");
  });
});

describe("yaml, json and name output", () => {
  it("prints YAML with sorted keys, sequences at the parent's indentation and quoted timestamps", async () => {
    await create(
      doc(
        "NetworkPolicy",
        "  name: allow-web\n  namespace: prod",
        "  selector: app == 'web'\n  ingress:\n  - action: Allow\n    protocol: TCP\n    destination:\n      ports: [80]",
      ),
    );
    const res = await env.run(["get", "networkpolicy", "allow-web", "-n", "prod", "-o", "yaml"]);
    const rv = (
      await env.client.get("/calico/resources/v3/projectcalico.org/networkpolicies/prod/allow-web").exec()
    ).kvs[0]?.mod_revision;
    expect(res.stdout).toMatch(
      new RegExp(
        `^apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  creationTimestamp: "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"\n` +
          `  labels:\n    projectcalico.org/tier: default\n  name: allow-web\n  namespace: prod\n  resourceVersion: "${rv}"\n` +
          "  uid: [0-9a-f-]{36}\nspec:\n  ingress:\n  - action: Allow\n    destination:\n      ports:\n      - 80\n    protocol: TCP\n" +
          "  selector: app == 'web'\n  tier: default\n  types:\n  - Ingress\n$",
      ),
    );
  });

  it("prints JSON in Go field order without a trailing newline, and lists as <Kind>List", async () => {
    await create(`${POOL1}---\n${pool("p2", "10.0.2.0/24")}`);
    const one = await env.run(["get", "ippool", "p2", "-o", "json"]);
    expect(one.stdout.endsWith("}")).toBe(true);
    expect(Object.keys(JSON.parse(one.stdout))).toEqual(["kind", "apiVersion", "metadata", "spec"]);
    expect(Object.keys(JSON.parse(one.stdout).spec)).toEqual([
      "cidr",
      "vxlanMode",
      "ipipMode",
      "blockSize",
      "nodeSelector",
      "allowedUses",
      "assignmentMode",
    ]);
    expect(one.stdout).toContain('\n  "spec": {\n    "cidr": "10.0.2.0/24",\n');
    const list = await env.run(["get", "ippool", "-o", "json"]);
    const parsed = JSON.parse(list.stdout);
    expect(Object.keys(parsed)).toEqual(["kind", "apiVersion", "metadata", "items"]);
    expect(parsed.kind).toBe("IPPoolList");
    expect(Number(parsed.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(parsed.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual([
      "ippool-name1",
      "p2",
    ]);
    const yamlList = await env.run(["get", "ippool", "-o", "yaml"]);
    expect(yamlList.stdout).toMatch(
      /^apiVersion: projectcalico.org\/v3\nitems:\n- apiVersion: projectcalico.org\/v3\n/,
    );
    expect(yamlList.stdout).toMatch(/\nkind: IPPoolList\nmetadata:\n {2}resourceVersion: "\d+"\n$/);
    const two = await env.run(["get", "ippool", "p2", "ippool-name1", "-o", "yaml"]);
    expect(two.stdout).toMatch(/^- apiVersion: projectcalico.org\/v3\n {2}kind: IPPool\n/);
  });

  it("prints <kind>/<name> with -o name", async () => {
    await create(`${POOL1}---\n${pool("p2", "10.0.2.0/24")}`);
    expect((await env.run(["get", "ippool", "-o", "name"])).stdout).toBe("ippool/ippool-name1\nippool/p2\n");
  });

  it("--export drops cluster-specific metadata", async () => {
    await create(POOL1);
    const res = await env.run(["get", "ippool", "ippool-name1", "--export", "-o", "yaml"]);
    expect(res.stdout).toMatch(
      /^apiVersion: projectcalico.org\/v3\nkind: IPPool\nmetadata:\n {2}name: ippool-name1\nspec:\n/,
    );
  });

  it("rejects unknown kinds and output formats", async () => {
    expect(await env.run(["get", "bogus"])).toMatchObject({
      code: 1,
      stderr: "failed to get resources: resource type 'bogus' is not supported\n",
    });
    expect(await env.run(["get", "ippool", "-o", "xml"])).toMatchObject({
      code: 1,
      stderr: "unrecognized output format 'xml'\n",
    });
    expect((await env.run(["get", "ippool", "x", "-A"])).stderr).toBe("IPPool is not namespaced\n");
    expect((await env.run(["get", "wep", "x", "-A"])).stderr).toBe(
      "cannot use --all-namespace flag for getting a single resource\n",
    );
    expect((await env.run(["delete", "ippool", ""])).stderr).toBe("resource name may not be empty\n");
  });
});

describe("patch and label", () => {
  it("patches a resource, merging labels into the existing ones", async () => {
    await create(pool("p", "10.0.0.0/16").replace("  name: p", "  name: p\n  labels:\n    a: one"));
    const res = await env.run([
      "patch",
      "ippool",
      "p",
      "-p",
      '{"metadata":{"labels":{"b":"two"}},"spec":{"natOutgoing":true}}',
    ]);
    expect(res).toMatchObject({ code: 0, stdout: "Successfully patched 1 'IPPool' resource\n" });
    const stored = await env.stored("ippools/p");
    expect(stored?.metadata.labels).toEqual({ a: "one", b: "two" });
    expect(stored?.spec).toMatchObject({ natOutgoing: true, cidr: "10.0.0.0/16" });
  });

  it("supports merge and json patch types", async () => {
    await create(pool("p", "10.0.0.0/16"));
    await env.run([
      "patch",
      "ippool",
      "p",
      "-t",
      "json",
      "-p",
      '[{"op":"replace","path":"/spec/ipipMode","value":"Always"}]',
    ]);
    expect((await env.stored("ippools/p"))?.spec?.ipipMode).toBe("Always");
    await env.run(["patch", "ippool", "p", "-t", "merge", "-p", '{"spec":{"ipipMode":null}}']);
    expect((await env.stored("ippools/p"))?.spec?.ipipMode).toBe("Never");
  });

  it("reports patch failures", async () => {
    await create(pool("p", "10.0.0.0/16"));
    expect(await env.run(["patch", "ippool", "nope", "-p", "{}"])).toMatchObject({
      code: 1,
      stderr: "hit error: resource does not exist: IPPool(nope) with error: <nil>\n",
    });
    expect((await env.run(["patch", "ippool", "p", "-p", '{"spec":{"bogus":1}}'])).stderr).toBe(
      "field in document is not recognized or is in the wrong location: bogus\n",
    );
    const immutable = await env.run(["patch", "ippool", "p", "-p", '{"spec":{"cidr":"10.9.0.0/16"}}']);
    expect(immutable.stderr).toMatch(
      /^hit error: updating existing resource: error with field .*IPPool CIDR cannot be modified/,
    );
    expect((await env.stored("ippools/p"))?.spec?.cidr).toBe("10.0.0.0/16");
  });

  it("sets, updates and removes labels with Calico's messages", async () => {
    await create(doc("NetworkPolicy", "  name: np1\n  namespace: ns1", "  selector: all()"));
    const run = (...args: string[]) => env.run(["label", "networkpolicies", "np1", "-n", "ns1", ...args]);
    expect((await run("app=web")).stdout).toBe("Successfully set label app on networkpolicies np1\n");
    expect((await env.stored("networkpolicies/ns1/np1"))?.metadata.labels).toMatchObject({ app: "web" });
    expect(await run("app=db")).toMatchObject({
      code: 1,
      stderr:
        "failed to update label of networkpolicies np1, key app is already present. please use '--overwrite' to set a new value\n",
    });
    expect((await run("app=web")).stdout).toBe("Successfully updated label app on networkpolicies np1\n");
    expect((await run("app=db", "--overwrite")).stdout).toBe(
      "Successfully updated label app on networkpolicies np1\n",
    );
    expect((await env.stored("networkpolicies/ns1/np1"))?.metadata.labels).toMatchObject({ app: "db" });
    expect((await run("app", "--remove")).stdout).toBe(
      "Successfully removed label app from networkpolicies np1\n",
    );
    expect((await env.stored("networkpolicies/ns1/np1"))?.metadata.labels).not.toHaveProperty("app");
    expect((await run("app", "--remove")).stderr).toBe(
      "cannot remove label of networkpolicies np1, key app does not exist\n",
    );
    expect((await run("a=b=c")).stderr).toBe("invalid label a=b=c\n");
    expect((await env.run(["label", "networkpolicies", "nope", "x=y"])).stderr).toBe(
      "networkpolicies nope not found\n",
    );
    expect((await run("bad key=x")).stderr).toBe("failed to update networkpolicies np1, label not changed\n");
  });
});

describe("version and the version-mismatch guard", () => {
  it("prints the client version alone with --client, without a datastore", async () => {
    const res = await runCalicoctl(["version", "--client"], {
      env: { ETCD_ENDPOINTS: "http://127.0.0.1:1" },
    });
    expect(res).toMatchObject({ code: 0, stderr: "" });
    expect(res.stdout).toMatch(/^Client Version: {4}v\d+\.\d+\.\d+\nGit commit: {8}\S+\n$/);
  });

  it("prints the cluster version and type", async () => {
    expect((await env.run(["version"])).stdout).toMatch(
      /\nCluster Version: {3}unknown\nCluster Type: {6}unknown\n$/,
    );
    await putClusterInformation({ calicoVersion: "v3.30.1", clusterType: "k8s,bgp", datastoreReady: true });
    expect((await env.run(["version"])).stdout).toMatch(
      /\nCluster Version: {3}v3\.30\.1\nCluster Type: {6}k8s,bgp\n$/,
    );
  });

  it("refuses to work on a cluster of another release unless allowed", async () => {
    await putClusterInformation({ calicoVersion: "v9.9.9-rc1", datastoreReady: true });
    const clientVersion = /Client Version: {4}(\S+)/.exec(
      (await env.run(["version", "--client"])).stdout,
    )?.[1];
    const refused = await env.run(["create", "-f", "-"], { input: pool("p", "10.0.0.0/16") });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `version mismatch.\nClient Version:   ${clientVersion}\nCluster Version:  9.9.9\nUse --allow-version-mismatch to override\n`,
    );
    expect(await env.stored("ippools/p")).toBeUndefined();
    expect((await env.run(["get", "ippool"])).stderr).toMatch(
      /^failed to get resources: version mismatch\.\n/,
    );
    const allowed = await env.run(["--allow-version-mismatch", "create", "-f", "-"], {
      input: pool("p", "10.0.0.0/16"),
    });
    expect(allowed.stdout).toBe("Successfully created 1 'IPPool' resource(s)\n");
    expect((await env.run(["get", "ippool", "--allow-version-mismatch", "-o", "name"])).stdout).toBe(
      "ippool/p\n",
    );
    const same = clientVersion?.replace(/^v/, "") ?? "";
    await putClusterInformation({ calicoVersion: `${same}-dirty`, datastoreReady: true });
    expect((await env.run(["get", "ippool", "-o", "name"])).stdout).toBe("ippool/p\n");
  });

  it("guards the ipam subcommands too", async () => {
    await putClusterInformation({ calicoVersion: "v9.9.9", datastoreReady: true });
    const refused = await env.run(["ipam", "show"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^version mismatch\.\n/);
    const allowed = await env.run(["--allow-version-mismatch", "ipam", "show"]);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain("GROUPING");
  });

  it("does not guard validate", async () => {
    await putClusterInformation({ calicoVersion: "v9.9.9", datastoreReady: true });
    expect((await env.run(["validate", "-f", "-"], { input: pool("p", "10.0.0.0/16") })).code).toBe(0);
  });
});

describe("datastore configuration and reachability", () => {
  it("fails fast, naming the endpoint, when etcd is unreachable", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 1));
      });
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const started = Date.now();
    const res = await runCalicoctl(["get", "ippool"], { env: { ETCD_ENDPOINTS: endpoint } });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`cannot reach etcd at ${endpoint}`);
    expect(Date.now() - started).toBeLessThan(15_000);
    const create = await runCalicoctl(["create", "-f", "-"], {
      env: { ETCD_ENDPOINTS: endpoint },
      input: pool("p", "10.0.0.0/16"),
    });
    expect(create.code).toBe(1);
    expect(create.stderr).toContain(`cannot reach etcd at ${endpoint}`);
  });

  it("reads the datastore from a -c config file, and reports a missing one", async () => {
    const { writeFile, mkdtemp, rm } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = await mkdtemp(join(tmpdir(), "calicoctl-cfg-"));
    const cfg = join(dir, "calicoctl.cfg");
    await writeFile(
      cfg,
      `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n  etcdEndpoints: ${env.etcd.endpoint}\n`,
    );
    await create(POOL1);
    expect((await runCalicoctl(["get", "ippool", "-o", "name", "-c", cfg])).stdout).toBe(
      "ippool/ippool-name1\n",
    );
    expect((await runCalicoctl(["get", "ippool", "-c", join(dir, "nope.cfg")])).stderr).toBe(
      `failed to get resources: Error reading config file: ${join(dir, "nope.cfg")}\n`,
    );
    await rm(dir, { recursive: true, force: true });
  });
});
