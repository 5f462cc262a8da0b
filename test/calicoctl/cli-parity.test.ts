/**
 * Resources written for Calico 3.2x–3.31 through calicoctl against a real etcd (issue 16): each
 * class Calico accepts is validated, created and re-applied; its invalid neighbour is refused
 * with Calico's message and leaves nothing behind. Staged policies round-trip under Calico's
 * etcd keys and show in `calicoctl get`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CliEnv, doc, startCliEnv } from "./cli.js";

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

const ns = (name: string, namespace = "default") => `  name: ${name}\n  namespace: ${namespace}`;
const named = (name: string) => `  name: ${name}`;
const docs = (...parts: string[]) => parts.join("---\n");

interface ParityClass {
  title: string;
  /** Valid documents, as a Calico user would write them. */
  valid: string;
  count: number;
  /** Keys (under /calico/resources/v3/projectcalico.org/) the valid documents are stored at. */
  stored: string[];
  /** The invalid neighbour, and the error calicoctl prints for it. */
  invalid: string;
  error: string;
}

const LABEL_NAME =
  "name must consist of lower case alphanumeric characters or '-' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?)";

const classes: ParityClass[] = [
  {
    title: "policy rules with services",
    valid: docs(
      doc(
        "NetworkPolicy",
        named("svc"),
        "  egress:\n  - action: Allow\n    destination:\n      services:\n        name: db\n" +
          "  ingress:\n  - action: Allow\n    protocol: TCP\n    source:\n      services:\n" +
          "        name: web\n        namespace: front\n      ports: [8080]\n      notPorts: ['9000:9100']\n",
      ),
      doc(
        "GlobalNetworkPolicy",
        named("gsvc"),
        "  egress:\n  - action: Allow\n    destination:\n      services: {name: db, namespace: back}\n",
      ),
    ),
    count: 2,
    stored: ["networkpolicies/default/svc", "globalnetworkpolicies/gsvc"],
    invalid: doc(
      "NetworkPolicy",
      named("svc"),
      "  egress:\n  - action: Allow\n    protocol: TCP\n    destination:\n      services: {name: db}\n      ports: [80]\n",
    ),
    error:
      "error with field spec.egress[0].destination (ports and notPorts cannot be specified with services)",
  },
  {
    title: "performanceHints",
    valid: docs(
      doc("NetworkPolicy", ns("hinted", "prod"), "  performanceHints: [AssumeNeededOnEveryNode]"),
      doc("GlobalNetworkPolicy", named("ghinted"), "  performanceHints: [AssumeNeededOnEveryNode]"),
    ),
    count: 2,
    stored: ["networkpolicies/prod/hinted", "globalnetworkpolicies/ghinted"],
    invalid: doc(
      "GlobalNetworkPolicy",
      named("ghinted"),
      "  performanceHints: [AssumeNeededOnEveryNode, AssumeNeededOnEveryNode]",
    ),
    error: "error with field spec.performanceHints[1] = 'AssumeNeededOnEveryNode' (Duplicate value)",
  },
  {
    title: "staged policies",
    valid: docs(
      doc("Tier", named("eng"), "  order: 100"),
      doc(
        "StagedNetworkPolicy",
        named("default.policy-mystagedpolicy1"),
        "  stagedAction: Set\n  tier: default\n  order: 100\n  selector: type=='database'\n" +
          "  egress:\n  - action: Allow\n    source:\n      selector: type=='application'\n",
      ),
      doc("StagedGlobalNetworkPolicy", named("eng.retire"), "  stagedAction: Delete\n  tier: eng"),
      doc(
        "StagedKubernetesNetworkPolicy",
        named("mystagedk8spolicy1"),
        "  podSelector:\n    matchLabels: {role: db}\n  ingress:\n  - ports:\n    - {port: 6379, protocol: TCP}\n",
      ),
    ),
    count: 4,
    stored: [
      "tiers/eng",
      "stagednetworkpolicies/default/default.policy-mystagedpolicy1",
      "stagedglobalnetworkpolicies/eng.retire",
      "stagedkubernetesnetworkpolicies/default/mystagedk8spolicy1",
    ],
    invalid: doc("StagedNetworkPolicy", named("retire"), "  stagedAction: Delete\n  selector: all()"),
    error:
      "error with field spec (Spec fields, except Tier, should all be zero-value if stagedAction is Delete)",
  },
  {
    title: "types inference and combinations",
    valid: docs(
      doc("NetworkPolicy", named("egress-only"), "  egress:\n  - action: Deny\n"),
      doc("NetworkPolicy", named("typed"), "  types: [Egress]\n  ingress:\n  - action: Allow\n"),
      doc(
        "GlobalNetworkPolicy",
        named("prednat"),
        "  preDNAT: true\n  applyOnForward: true\n  types: [Ingress]\n  ingress:\n  - action: Allow\n",
      ),
    ),
    count: 3,
    stored: [
      "networkpolicies/default/egress-only",
      "networkpolicies/default/typed",
      "globalnetworkpolicies/prednat",
    ],
    invalid: doc("NetworkPolicy", named("typed"), "  types: [Egress, Egress]"),
    error: "error with field spec.types = '[Egress Egress]' ('Egress' type specified more than once)",
  },
  {
    title: "policy names",
    valid: docs(
      doc("NetworkPolicy", named("th.ing"), "  selector: all()"),
      doc("NetworkPolicy", named("a".repeat(253))),
      doc("StagedNetworkPolicy", named("knp.default.thing"), "  stagedAction: Delete"),
      doc("GlobalNetworkPolicy", named("th.ing")),
    ),
    count: 4,
    stored: [
      "networkpolicies/default/th.ing",
      `networkpolicies/default/${"a".repeat(253)}`,
      "stagednetworkpolicies/default/knp.default.thing",
      "globalnetworkpolicies/th.ing",
    ],
    invalid: doc("NetworkPolicy", named("t.h.i.ng")),
    error: `error with field metadata.name = 't.h.i.ng' (${LABEL_NAME})`,
  },
  {
    title: "namespaceSelector: global() and projectcalico.org/name",
    valid: doc(
      "GlobalNetworkPolicy",
      named("global-sets"),
      "  ingress:\n  - action: Allow\n    source:\n      namespaceSelector: global()\n" +
        "    destination:\n      namespaceSelector: projectcalico.org/name == 'test'\n",
    ),
    count: 1,
    stored: ["globalnetworkpolicies/global-sets"],
    invalid: doc(
      "GlobalNetworkPolicy",
      named("global-sets"),
      "  ingress:\n  - action: Allow\n    source:\n      namespaceSelector: global() && all()\n",
    ),
    error:
      "error with field spec.ingress[0].source.namespaceSelector = 'global() && all()' (global() cannot be combined with other selectors)",
  },
  {
    title: "network sets with labels",
    valid: docs(
      doc("NetworkSet", `${ns("db-hosts")}\n  labels:\n    role: db`, "  nets: [10.0.0.1, 'dead:beef::/96']"),
      doc(
        "GlobalNetworkSet",
        `${named("external")}\n  labels:\n    example.com/zone: a`,
        "  nets: [11.0.0.0/8]",
      ),
    ),
    count: 2,
    stored: ["networksets/default/db-hosts", "globalnetworksets/external"],
    invalid: doc("NetworkSet", `${ns("db-hosts")}\n  labels:\n    projectcalico.org/namespace: x`),
    error:
      "error with field metadata.labels = 'projectcalico.org/namespace' (projectcalico.org/namespace is not a valid label name)",
  },
  {
    title: "workload endpoints",
    valid: docs(
      doc(
        "WorkloadEndpoint",
        ns("node1-k8s-web--0-eth0"),
        "  node: node1\n  orchestrator: k8s\n  pod: web-0\n  endpoint: eth0\n  containerID: Cath01234-G\n" +
          "  interfaceName: cali012371237\n  ipNetworks: [1.2.3.4/32, 'aabb:aabb::ffff/128']\n" +
          "  ipNATs:\n  - {internalIP: 1.2.3.4, externalIP: 100.200.0.0}\n" +
          "  - {internalIP: 'aabb:aabb::ffff', externalIP: 'aabb::abcd'}\n" +
          "  allowSpoofedSourcePrefixes: [10.0.0.1, 192.168.0.0/16]\n  ports:\n" +
          "  - {protocol: TCP, port: 1234, hostPort: 2345, hostIP: 10.0.0.1}\n" +
          "  - {name: a-valid-port, protocol: SCTP, port: 1234}\n" +
          "  - {name: a-valid-port, protocol: UDP, port: 5456}\n",
      ),
      // Nothing but the identifiers and an interface.
      doc(
        "WorkloadEndpoint",
        ns("node1-k8s-db-eth0"),
        "  node: node1\n  orchestrator: k8s\n  pod: db\n  endpoint: eth0\n  interfaceName: cali1",
      ),
    ),
    count: 2,
    stored: [
      "workloadendpoints/default/node1-k8s-web--0-eth0",
      "workloadendpoints/default/node1-k8s-db-eth0",
    ],
    invalid: doc(
      "WorkloadEndpoint",
      "  namespace: default",
      "  node: node1\n  orchestrator: k8s\n  pod: db\n  endpoint: eth0\n  interfaceName: cali1\n" +
        "  ipNetworks: [1.2.3.4/32]\n  ipNATs:\n  - {internalIP: 100.200.0.0, externalIP: 1.2.3.4}\n",
    ),
    error: "error with field spec.ipNATs = '100.200.0.0' (NAT is not in the endpoint networks)",
  },
];

describe.each(classes)("$title", (c) => {
  it("validates, creates and re-applies the valid shapes", async () => {
    const checked = await env.run(["validate", "-f", "-"], { input: c.valid });
    expect(checked).toMatchObject({ code: 0, stderr: "" });
    expect(checked.stdout).toMatch(new RegExp(`^Successfully validated ${c.count} .*resource\\(s\\)\\n$`));
    const created = await env.run(["create", "-f", "-"], { input: c.valid });
    expect(created).toMatchObject({ code: 0, stderr: "" });
    expect(created.stdout).toMatch(new RegExp(`^Successfully created ${c.count} .*resource\\(s\\)\\n$`));
    for (const key of c.stored) expect(await env.stored(key), key).toBeDefined();
    const applied = await env.run(["apply", "-f", "-"], { input: c.valid });
    expect(applied).toMatchObject({ code: 0, stderr: "" });
    expect(applied.stdout).toMatch(new RegExp(`^Successfully applied ${c.count} .*resource\\(s\\)\\n$`));
  });

  it("refuses the invalid neighbour with Calico's message and stores nothing", async () => {
    const kind = /kind: (\w+)/.exec(c.invalid)?.[1];
    for (const verb of ["validate", "create", "apply"] as const) {
      const res = await env.run([verb, "-f", "-"], { input: c.invalid });
      expect(res.code, verb).toBe(1);
      expect(res.stderr, verb).toBe(`failed to ${verb} '${kind}' resource: [${c.error}]\n`);
    }
    const stored = await env.keys();
    expect(stored.filter((k) => !/\/(tiers|clusterinformations)\//.test(k))).toEqual([]);
  });
});

describe("staged policies in the datastore", () => {
  const SNP = doc(
    "StagedNetworkPolicy",
    named("default.policy-mystagedpolicy1"),
    "  order: 100\n  selector: type=='database'\n  egress:\n  - action: Allow\n",
  );
  const SGNP = doc("StagedGlobalNetworkPolicy", named("staged-g"), "  selector: all()\n  types: [Ingress]");
  const SKNP = doc(
    "StagedKubernetesNetworkPolicy",
    ns("k8s-staged", "prod"),
    "  podSelector:\n    matchLabels: {role: db}\n  policyTypes: [Ingress]",
  );

  it("stores each kind under Calico's key with Calico's defaults, and reads it back", async () => {
    const res = await env.run(["create", "-f", "-"], { input: docs(SNP, SGNP, SKNP) });
    expect(res).toMatchObject({ code: 0, stdout: "Successfully created 3 resource(s)\n" });
    const policyKeys = (await env.keys()).filter((k) => k.includes("/staged"));
    const root = "/calico/resources/v3/projectcalico.org";
    expect(policyKeys).toEqual([
      `${root}/stagedglobalnetworkpolicies/staged-g`,
      `${root}/stagedkubernetesnetworkpolicies/prod/k8s-staged`,
      `${root}/stagednetworkpolicies/default/default.policy-mystagedpolicy1`,
    ]);
    const snp = await env.stored("stagednetworkpolicies/default/default.policy-mystagedpolicy1");
    expect(snp?.spec).toEqual({
      stagedAction: "Set",
      tier: "default",
      order: 100,
      selector: "type=='database'",
      egress: [{ action: "Allow" }],
      types: ["Egress"],
    });
    expect(snp?.metadata.labels).toEqual({ "projectcalico.org/tier": "default" });
    const sknp = await env.stored("stagedkubernetesnetworkpolicies/prod/k8s-staged");
    expect(sknp?.spec).toEqual({
      stagedAction: "Set",
      podSelector: { matchLabels: { role: "db" } },
      policyTypes: ["Ingress"],
    });
    const yaml = await env.run(["get", "spol", "default.policy-mystagedpolicy1", "-o", "yaml"]);
    expect(yaml.stdout).toContain("kind: StagedNetworkPolicy\n");
    expect(yaml.stdout).toContain("  name: default.policy-mystagedpolicy1\n");
    expect(yaml.stdout).not.toContain("projectcalico.org/metadata");
  });

  it("lists them with Calico's columns and every alias", async () => {
    await env.run(["create", "-f", "-"], { input: docs(SNP, SGNP, SKNP) });
    expect((await env.run(["get", "stagednetworkpolicies"])).stdout).toBe(
      "NAME                             TIER      \n" + "default.policy-mystagedpolicy1   default   \n\n",
    );
    expect((await env.run(["get", "snp", "-o", "wide"])).stdout).toBe(
      "NAME                             TIER      ORDER   SELECTOR           \n" +
        "default.policy-mystagedpolicy1   default   100     type=='database'   \n\n",
    );
    expect((await env.run(["get", "sgnp"])).stdout).toBe("NAME       TIER      \nstaged-g   default   \n\n");
    expect((await env.run(["get", "sknp", "-A"])).stdout).toBe(
      "NAMESPACE   NAME         \nprod        k8s-staged   \n\n",
    );
    for (const alias of ["stagednetworkpolicy", "stagedpolicy", "stagedpolicies", "spol", "spols"]) {
      expect((await env.run(["get", alias, "-o", "name"])).stdout, alias).toBe(
        "stagednetworkpolicy/default.policy-mystagedpolicy1\n",
      );
    }
    for (const alias of ["stagedglobalnetworkpolicies", "sgnps"]) {
      expect((await env.run(["get", alias, "-o", "name"])).stdout, alias).toBe(
        "stagedglobalnetworkpolicy/staged-g\n",
      );
    }
    for (const alias of ["stagedkubernetesnetworkpolicies", "stagedkubernetespolicy", "skpol", "skpols"]) {
      expect((await env.run(["get", alias, "-n", "prod", "-o", "name"])).stdout, alias).toBe(
        "stagedkubernetesnetworkpolicy/k8s-staged\n",
      );
    }
  });

  it("replaces with a resourceVersion precondition and deletes them", async () => {
    await env.run(["create", "-f", "-"], { input: docs(SNP, SGNP, SKNP) });
    const got = await env.run(["get", "snp", "default.policy-mystagedpolicy1", "-o", "json"]);
    const rev0 = JSON.parse(got.stdout) as { metadata: { resourceVersion: string } };
    const changed = SNP.replace("order: 100", "order: 5");
    expect((await env.run(["replace", "-f", "-"], { input: changed })).code).toBe(0);
    expect(
      (await env.stored("stagednetworkpolicies/default/default.policy-mystagedpolicy1"))?.spec?.order,
    ).toBe(5);
    const stale = await env.run(["replace", "-f", "-"], {
      input: changed.replace(
        "  name: default.policy-mystagedpolicy1",
        `  name: default.policy-mystagedpolicy1\n  resourceVersion: "${rev0.metadata.resourceVersion}"`,
      ),
    });
    expect(stale).toMatchObject({ code: 1 });
    expect(stale.stderr).toContain(
      "update conflict: StagedNetworkPolicy(default/default.policy-mystagedpolicy1)",
    );
    for (const [kind, name, flags] of [
      ["stagednetworkpolicy", "default.policy-mystagedpolicy1", []],
      ["stagedglobalnetworkpolicy", "staged-g", []],
      ["stagedkubernetesnetworkpolicy", "k8s-staged", ["-n", "prod"]],
    ] as const) {
      const del = await env.run(["delete", kind, name, ...flags]);
      expect(del, kind).toMatchObject({ code: 0, stderr: "" });
    }
    expect((await env.keys()).filter((k) => k.includes("/staged"))).toEqual([]);
  });
});
