/**
 * A dual-stack lab end to end, through the command line: three nodes meshed over IPv4 and IPv6,
 * pods with both families (some pinned to addresses, one from a named pool, one from its
 * namespace's pool, one IPv6-only), full reachability over both families with BIRD routing each
 * remote /122, a Kubernetes ipBlock policy and a Calico ICMPv6 policy enforced exactly, NDP
 * passing whatever the policy, NAT outgoing for an IPv6 pool, refused pinned addresses leaving
 * IPAM clean, and IPv6 route reflection and explicit peers.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/lib/exec.js";
import { eventually } from "../support/datastore.js";
import { LabCli } from "./cli.js";

const HAS_PING = existsSync("/usr/bin/busybox") || existsSync("/bin/busybox");
const ROOT = join(import.meta.dirname, "../..");
let cli: LabCli;
let PREFIX: string;
let dir: string;
let env: NodeJS.ProcessEnv;
const lab = (...args: string[]) => cli.run(...args);
const labOk = (...args: string[]) => cli.ok(...args);
const calicoctl = (...args: string[]) => cli.calicoctl(...args);
const apply = (yaml: string, verb = "apply") => cli.apply(yaml, verb);

const matrix = (family: "4" | "6") => cli.matrix(80, family);

async function probe(from: string, to: string, family: "4" | "6"): Promise<boolean> {
  return (await lab("probe", from, to, "--port", "80", "--family", family)).code === 0;
}

function podAddresses(status: string, ref: string): string[] {
  const line = status.split("\n").find((l) => l.startsWith(`${ref} `));
  return (line ?? "")
    .split(/\s+/)
    .slice(2)
    .join("")
    .split(",")
    .filter((a) => a);
}

async function podNetns(ref: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  return `${PREFIX}-p-${createHash("sha256").update(ref).digest("hex").slice(0, 10)}`;
}

async function ping6(from: string, to: string): Promise<boolean> {
  const out = await run("ip", [
    "netns",
    "exec",
    await podNetns(from),
    "busybox",
    "ping",
    "-6",
    "-c",
    "1",
    "-W",
    "1",
    to,
  ]);
  return out.code === 0;
}

async function routes6(node: string): Promise<string[]> {
  return (await run("ip", ["-n", `${PREFIX}-${node}`, "-6", "route", "show"])).stdout.split("\n");
}

async function birdProtocols(node: string): Promise<string> {
  return (await run("birdc", ["-s", join(dir, node, "run", "bird.ctl"), "show", "protocols"])).stdout;
}

const NODES = ["node1", "node2", "node3"];

beforeAll(async () => {
  cli = await LabCli.create("cds");
  ({ prefix: PREFIX, dir, env } = cli);
  await labOk("up", "--nodes", "3", "--ipv6");
  await apply(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pinned-v4}
spec: {cidr: 10.250.0.0/16, nodeSelector: "!all()"}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pinned-v6}
spec: {cidr: "fd10:250::/112", nodeSelector: "!all()"}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: off-v4}
spec: {cidr: 10.251.0.0/16, disabled: true}
`);
  await labOk("namespace", "create", "dev", "--labels", "env=dev");
  for (const [i, node] of NODES.entries())
    await labOk("pod", "create", `dev/p${i + 1}`, "--node", node, "--serve", "tcp:80");
  await labOk(
    "pod",
    "create",
    "dev/in",
    "--node",
    "node2",
    "--ip",
    "10.250.1.10,fd10:250::10",
    "--serve",
    "tcp:80",
  );
  await labOk(
    "pod",
    "create",
    "dev/exc",
    "--node",
    "node3",
    "--ip",
    "10.250.1.70,fd10:250::50",
    "--serve",
    "tcp:80",
  );
  await labOk(
    "pod",
    "create",
    "dev/out",
    "--node",
    "node1",
    "--ip",
    "10.250.2.10,fd10:250::110",
    "--serve",
    "tcp:80",
  );
  await labOk(
    "pod",
    "create",
    "dev/v6only",
    "--node",
    "node2",
    "--annotations",
    'cni.projectcalico.org/ipFamilies=["IPv6"]',
    "--serve",
    "tcp:80",
  );
  // Pools made after the other pods, so only the pods that ask for them use them.
  await apply(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: blue-v4}
spec: {cidr: 10.252.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: blue-v6}
spec: {cidr: "fd10:252::/112"}
`);
  await labOk("pod", "create", "dev/pooled", "--node", "node3", "--pool", "blue-v4", "--serve", "tcp:80");
  await labOk("namespace", "create", "blue", "--annotations", 'cni.projectcalico.org/ipv6pools=["blue-v6"]');
  await labOk("pod", "create", "blue/p", "--node", "node1", "--serve", "tcp:80");
}, 240_000);

afterAll(async () => {
  await cli?.down();
});

describe("calico-lab up --ipv6", () => {
  it("gives every node an IPv6 address, BGP sessions over it, and `calicoctl node status` an IPv6 table", async () => {
    const nodes = await calicoctl("get", "nodes", "-o", "wide");
    for (let i = 1; i <= 3; i++) expect(nodes).toMatch(new RegExp(`node${i} .*fd00:30::${i}/64`));
    expect(await labOk("status")).toMatch(
      /^node1 +172\.30\.0\.1, fd00:30::1 +172\.30\.0\.0\/24 +- +1500 +ready$/m,
    );
    const status = await run(
      "ip",
      ["netns", "exec", `${PREFIX}-node1`, process.execPath, join(ROOT, "bin/calicoctl"), "node", "status"],
      { env: { ...env, CALICO_RUN_DIR: join(dir, "node1", "run") } },
    );
    const v6 = status.stdout.slice(status.stdout.indexOf("IPv6 BGP status"));
    expect(v6).toMatch(/\| fd00:30::2 +\| node-to-node mesh \| up +\| [\d:]+ \| Established \|/);
    expect(v6).toMatch(/\| fd00:30::3 +\| node-to-node mesh \| up +\| [\d:]+ \| Established \|/);
  });

  it("addresses pods as asked: both families, pinned, from a named pool, from the namespace's pool, IPv6 only", async () => {
    const status = await labOk("status");
    const p1 = podAddresses(status, "dev/p1");
    expect(p1).toHaveLength(2);
    expect(p1[0]).toMatch(/^10\.244\./);
    expect(p1[1]).toMatch(/^fd10:244::/);
    expect(podAddresses(status, "dev/in")).toEqual(["10.250.1.10", "fd10:250::10"]);
    expect(podAddresses(status, "dev/pooled")[0]).toMatch(/^10\.252\./);
    expect(podAddresses(status, "dev/pooled")[1]).toMatch(/^fd10:244::/);
    expect(podAddresses(status, "blue/p")[0]).toMatch(/^10\.244\./);
    expect(podAddresses(status, "blue/p")[1]).toMatch(/^fd10:252::/);
    const v6only = podAddresses(status, "dev/v6only");
    expect(v6only).toHaveLength(1);
    expect(v6only[0]).toMatch(/^fd10:244::/);
    const v4routes = (await run("ip", ["-n", await podNetns("dev/v6only"), "-4", "route", "show"])).stdout;
    expect(v4routes.trim()).toBe("");
    const wrong = await lab("probe", "dev/p1", "dev/v6only", "--port", "80", "--family", "4");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("pod dev/v6only has no IPv4 address");
  });

  it("every pod reaches every pod over IPv4 and over IPv6, and BIRD routes each remote /122", async () => {
    const m4 = await matrix("4");
    const m6 = await matrix("6");
    // 8 pods have IPv4, 9 have IPv6 (dev/v6only has only IPv6).
    expect(Object.keys(m4)).toHaveLength(8 * 7);
    expect(Object.keys(m6)).toHaveLength(9 * 8);
    expect(Object.entries(m4).filter(([, ok]) => !ok)).toEqual([]);
    expect(Object.entries(m6).filter(([, ok]) => !ok)).toEqual([]);
    const own = new Map<string, string[]>();
    for (const node of NODES)
      own.set(
        node,
        (await routes6(node)).flatMap((l) => /^blackhole (\S+\/122) .*proto bird/.exec(l)?.[1] ?? []),
      );
    for (const [i, node] of NODES.entries()) {
      expect(own.get(node)?.length).toBeGreaterThan(0);
      const learned = (await routes6(node)).flatMap((l) => {
        const m = /^(\S+\/122) via (fd00:30::\d) dev eth0 proto bird/.exec(l);
        return m ? [`${m[1]} via ${m[2]}`] : [];
      });
      const expected = NODES.flatMap((other, j) =>
        j === i ? [] : (own.get(other) ?? []).map((b) => `${b} via fd00:30::${j + 1}`),
      );
      expect(learned.sort()).toEqual(expected.sort());
    }
  }, 240_000);

  it("enforces a Kubernetes NetworkPolicy ipBlock (IPv4 and IPv6, with except) exactly", async () => {
    await labOk("pod", "label", "dev/p1", "app=web");
    const knp = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-block, namespace: dev}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
    - from:
        - ipBlock: {cidr: 10.250.1.0/24, except: [10.250.1.64/26]}
        - ipBlock: {cidr: "fd10:250::/120", except: ["fd10:250::40/122"]}
      ports: [{protocol: TCP, port: 80}]
`;
    await apply(knp);
    await eventually(async () => expect(await probe("dev/out", "dev/p1", "6")).toBe(false), 15_000, 300);
    for (const family of ["4", "6"] as const) {
      expect(await probe("dev/in", "dev/p1", family), `in, IPv${family}`).toBe(true);
      expect(await probe("dev/exc", "dev/p1", family), `except, IPv${family}`).toBe(false);
      expect(await probe("dev/out", "dev/p1", family), `outside, IPv${family}`).toBe(false);
      expect(await probe("dev/p2", "dev/p1", family), `pool pod, IPv${family}`).toBe(false);
      // Pods the policy does not select are untouched.
      expect(await probe("dev/out", "dev/p2", family), `unselected, IPv${family}`).toBe(true);
    }
    await apply(knp, "delete");
    await eventually(async () => expect(await probe("dev/out", "dev/p1", "6")).toBe(true), 15_000, 300);
  }, 90_000);

  it.skipIf(!HAS_PING)(
    "matches Calico policy on IPv6 CIDRs and ICMPv6 type/code, and lets NDP through whatever the policy",
    async () => {
      const target = podAddresses(await labOk("status"), "dev/p3")[1] as string;
      await labOk("pod", "label", "dev/p3", "app=icmp");
      const policy = (type: number) => `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: icmp6-echo, namespace: dev}
spec:
  selector: app == 'icmp'
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      protocol: ICMPv6
      icmp: {type: ${type}, code: 0}
      source: {nets: ["fd10:250::/120"]}
`;
      await apply(policy(128));
      await eventually(async () => expect(await probe("dev/in", "dev/p3", "6")).toBe(false), 15_000, 300);
      expect(await ping6("dev/in", target)).toBe(true);
      expect(await ping6("dev/out", target)).toBe(false);
      // Egress is denied outright, yet neighbour discovery with the host still works.
      await run("ip", ["-n", await podNetns("dev/p3"), "-6", "neigh", "flush", "all"]);
      await run("ip", ["-n", `${PREFIX}-node3`, "-6", "neigh", "flush", "all"]);
      expect(await ping6("dev/in", target)).toBe(true);
      await apply(policy(129));
      await eventually(async () => expect(await ping6("dev/in", target)).toBe(false), 15_000, 300);
      await calicoctl("delete", "networkpolicy", "icmp6-echo", "-n", "dev");
      await eventually(async () => expect(await probe("dev/in", "dev/p3", "6")).toBe(true), 15_000, 300);
    },
    90_000,
  );

  it.skipIf(!HAS_PING)(
    "masquerades traffic leaving an IPv6 pool with natOutgoing",
    async () => {
      // The fabric's router has no route back to the pods: only a masqueraded ping returns.
      const gateway = "fd00:30::fe";
      expect(await ping6("dev/p2", gateway)).toBe(false);
      await calicoctl("patch", "ippool", "default-ipv6-ippool", "-p", '{"spec":{"natOutgoing":true}}');
      await eventually(async () => expect(await ping6("dev/p2", gateway)).toBe(true), 15_000, 300);
      await calicoctl("patch", "ippool", "default-ipv6-ippool", "-p", '{"spec":{"natOutgoing":false}}');
      await eventually(async () => expect(await ping6("dev/p2", gateway)).toBe(false), 15_000, 300);
    },
    60_000,
  );

  it("refuses a pinned address in use, outside every pool or in a disabled pool, leaking nothing", async () => {
    const before = await calicoctl("ipam", "show");
    const cases: Array<[string, string, string]> = [
      ["dev/taken", "10.250.1.10", "Address already assigned in block"],
      ["dev/nopool", "10.99.0.1", "The provided IP address is not in a configured pool"],
      ["dev/disabled", "10.251.0.1", "The provided IP address is not in a configured pool"],
      ["dev/half", "10.250.3.3,fd10:250::10", "Address already assigned in block"],
    ];
    for (const [ref, ip, why] of cases) {
      const out = await lab("pod", "create", ref, "--ip", ip);
      expect(out.code, ref).toBe(1);
      expect(out.stderr, ref).toContain("error getting IP from IPAM");
      expect(out.stderr, ref).toContain(why);
      expect((await run("ip", ["netns", "list"])).stdout).not.toContain(await podNetns(ref));
    }
    expect(await calicoctl("ipam", "show")).toBe(before);
    expect(await calicoctl("ipam", "check")).toContain("found 0 problems");
    expect(await labOk("status")).not.toMatch(/dev\/(taken|nopool|disabled|half)/);
    const usage = await lab("pod", "create", "dev/bad", "--ip", "10.250.0.1,10.250.0.2");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--ip takes at most one IPv4 address");
  }, 60_000);

  it("reflects IPv6 routes through a route reflector and peers explicitly over IPv6", async () => {
    await calicoctl("label", "node", "node3", "route-reflector=true");
    await calicoctl(
      "patch",
      "node",
      "node3",
      "-p",
      '{"spec":{"bgp":{"routeReflectorClusterID":"224.0.0.1"}}}',
    );
    await apply(`apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: peer-with-rr}
spec:
  nodeSelector: all()
  peerSelector: route-reflector == 'true'
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: node1-to-node2}
spec: {node: node1, peerIP: "fd00:30::2", asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: node2-to-node1}
spec: {node: node2, peerIP: "fd00:30::1", asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false}
`);
    await eventually(
      async () => {
        const p1 = await birdProtocols("node1");
        expect(p1).not.toContain("Mesh_");
        expect(p1).toMatch(/Node_fd00_30__3 .*Established/);
        expect(p1).toMatch(/Node_fd00_30__2 .*Established/);
        const rr = await birdProtocols("node3");
        expect(rr.match(/Node_fd00_30__\d .*Established/g)).toHaveLength(2);
      },
      30_000,
      300,
    );
    await eventually(
      async () => {
        const text = await labOk("matrix", "--family", "both");
        const [v4, v6] = text.split("\n\n");
        expect(v4).toMatch(/^tcp\/80, IPv4 /);
        expect(v6).toMatch(/^tcp\/80, IPv6 /);
        const cells = (table = "") => table.split("\n").slice(2).join(" ").split(/\s+/);
        expect(cells(v4).filter((c) => c === "ok")).toHaveLength(8 * 7);
        expect(cells(v6).filter((c) => c === "ok")).toHaveLength(9 * 8);
      },
      60_000,
      1_000,
    );
  }, 240_000);
});
