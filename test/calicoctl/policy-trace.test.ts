/** `calicoctl policy trace` as a subprocess against a real etcd: table, JSON and bad input. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliEnv, doc, startCliEnv } from "./cli.js";

let env: CliEnv;

function wep(pod: string, node: string, ip: string, labels: string, iface: string): string {
  return doc(
    "WorkloadEndpoint",
    `  name: ${node.replace("-", "--")}-k8s-${pod}-eth0\n  namespace: app\n  labels:\n${labels}`,
    `  orchestrator: k8s\n  node: ${node}\n  pod: ${pod}\n  endpoint: eth0\n  interfaceName: ${iface}\n` +
      `  ipNetworks: [${ip}/32]\n  profiles: [kns.app]\n  ports:\n  - name: pg\n    protocol: TCP\n    port: 5432`,
  );
}

const RESOURCES = [
  doc(
    "Profile",
    "  name: kns.app",
    "  ingress:\n  - action: Allow\n  egress:\n  - action: Allow\n  labelsToApply:\n    pcns.projectcalico.org/name: app",
  ),
  doc("Tier", "  name: security", "  order: 100"),
  wep("web", "node-1", "10.65.0.1", "    role: web", "caliweb"),
  wep("db", "node-2", "10.65.1.1", "    role: db", "calidb"),
  doc(
    "GlobalNetworkPolicy",
    "  name: security.quarantine",
    "  tier: security\n  selector: all()\n  types: [Ingress]\n  ingress:\n" +
      "  - action: Deny\n    source:\n      selector: quarantine == 'true'\n  - action: Pass",
  ),
  doc(
    "NetworkPolicy",
    "  name: db-in\n  namespace: app",
    "  selector: role == 'db'\n  types: [Ingress]\n  ingress:\n" +
      "  - action: Allow\n    protocol: TCP\n    source:\n      selector: role == 'web'\n    destination:\n      ports: [pg]",
  ),
  doc(
    "HostEndpoint",
    "  name: node-2-eth0\n  labels:\n    host: node-2",
    "  node: node-2\n  interfaceName: eth0\n  expectedIPs: [172.18.0.2]",
  ),
].join("---\n");

beforeAll(async () => {
  env = await startCliEnv();
  const res = await env.run(["apply", "-f", "-"], { input: RESOURCES });
  expect(res.stderr).toBe("");
}, 120_000);
afterAll(async () => {
  await env?.stop();
});

describe("calicoctl policy trace", () => {
  it("prints the verdict and the path: tiers, Pass, the allowing rule", async () => {
    const res = await env.run(["policy", "trace", "app/web", "app/db", "--port", "5432"]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const out = res.stdout;
    expect(out).toContain("Policy trace: tcp 10.65.0.1:40000 -> 10.65.1.1:5432");
    expect(out).toContain("Verdict: ALLOW");
    expect(out).toMatch(/INGRESS of app\/db — chain filter-cali-tw-calidb on node-2: ALLOW/);
    expect(out).toMatch(/policy\s+security\s+gnp\/security\.quarantine\s+pass\s+#1 Pass/);
    expect(out).toMatch(
      /policy\s+default\s+np\/app\/db-in\s+allow\s+#0 Allow protocol=TCP source\.selector=role == 'web' destination\.ports=\[pg\]/,
    );
  });

  it("says which step dropped a denied packet", async () => {
    const res = await env.run(["policy", "trace", "app/web", "10.65.1.1", "--port", "80"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("Verdict: DENY — ingress of app/db: end of tier default: no policy matched");
    expect(res.stdout).toMatch(/end-of-tier\s+default\s+end of tier default\s+deny/);
  });

  it("prints JSON with -o json", async () => {
    const res = await env.run([
      "policy",
      "trace",
      "app/db",
      "hostendpoint/node-2-eth0",
      "--port",
      "22",
      "-o",
      "json",
    ]);
    expect(res.stderr).toBe("");
    const t = JSON.parse(res.stdout) as {
      verdict: string;
      destination: { kind: string; node: string };
      directions: { direction: string; verdict: string; steps: { kind: string; outcome: string }[] }[];
    };
    expect(t.destination).toMatchObject({ kind: "host", node: "node-2" });
    // A workload reaching its own host meets DefaultEndpointToHostAction (Drop by default).
    expect(t.directions[1]).toMatchObject({ direction: "ingress", verdict: "deny" });
    expect(t.directions[1]!.steps[0]).toMatchObject({ kind: "endpoint", outcome: "deny" });
    const remote = await env.run([
      "policy",
      "trace",
      "app/web",
      "hostendpoint/node-2-eth0",
      "--port",
      "22",
      "-o",
      "json",
    ]);
    const r = JSON.parse(remote.stdout) as { verdict: string; directions: { steps: { kind: string }[] }[] };
    expect(r.verdict).toBe("allow");
    expect(r.directions[1]!.steps[0]!.kind).toBe("failsafe");
  });

  it("refuses bad input with a clear error and a non-zero exit", async () => {
    const cases: [string[], string][] = [
      [["app/nope", "app/db", "--port", "80"], "no workload endpoint for pod 'app/nope'"],
      [["app/web", "hostendpoint/x", "--port", "80"], "no host endpoint named 'x'"],
      [["app/web", "app/db", "--port", "65536"], "port '65536' is out of range"],
      [["app/web", "app/db", "--port", "80", "--protocol", "gre"], "unknown protocol 'gre'"],
      [["app/web", "app/db"], "--port is required for tcp"],
      [["app/web", "app/db", "--port", "80", "-o", "yaml"], "unknown output format 'yaml'"],
    ];
    for (const [args, message] of cases) {
      const res = await env.run(["policy", "trace", ...args]);
      expect(res.code, args.join(" ")).not.toBe(0);
      expect(res.stderr, args.join(" ")).toContain(message);
      expect(res.stdout).toBe("");
    }
  });
});
