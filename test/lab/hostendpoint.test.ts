/**
 * Host protection in the lab, through its command line: a default-deny host endpoint on node1
 * closes the node's services to pods and other nodes, while its BGP session stays Established,
 * the failsafe ports (SSH, etcd) stay open, Felix keeps following the datastore and the node's own
 * pods keep their connectivity; a port removed from the failsafe list closes; bad host endpoint
 * policy is refused with Calico's messages.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/datastore.js";
import { LabCli } from "./cli.js";

let cli: LabCli;
const lab = (...args: string[]) => cli.run(...args);
const labOk = (...args: string[]) => cli.ok(...args);
const calicoctl = (...args: string[]) => cli.calicoctlRun(...args);
const apply = (yaml: string) => cli.applyRun(yaml);

/** Exit code of `calico-lab probe`: 0 reachable, 1 not. */
async function probe(from: string, to: string, port: number): Promise<number> {
  return (await lab("probe", from, to, "--port", String(port))).code;
}

beforeAll(async () => {
  cli = await LabCli.create("cth");
  await labOk("up", "--nodes", "2");
  await labOk("namespace", "create", "dev");
  await labOk("pod", "create", "dev/web", "--node", "node1", "--serve", "tcp:80");
  await labOk("pod", "create", "dev/cli", "--node", "node2", "--serve", "tcp:80");
  await labOk("node", "serve", "node1", "--serve", "tcp:22,tcp:2379,tcp:8080");
}, 240_000);

afterAll(async () => {
  await cli?.down();
}, 120_000);

describe("calico-lab host endpoints", () => {
  it("probes a node's own services from pods and nodes before any host endpoint", async () => {
    expect(await probe("dev/cli", "node1", 8080)).toBe(0);
    expect(await probe("node2", "node1", 8080)).toBe(0);
    expect(await probe("node1", "dev/cli", 80)).toBe(0);
    expect((await lab("probe", "dev/cli", "node9", "--port", "22")).code).toBe(2);
  }, 180_000);

  it("shows the node's BGP session from inside the node", async () => {
    const out = await labOk("node", "status", "node1");
    expect(out).toContain("Calico process is running.");
    expect(out).toMatch(/172\.30\.0\.2\s+\|\s+node-to-node mesh\s+\|\s+up\s+\|.*Established/);
  }, 180_000);

  it("default-deny host endpoint: services closed, failsafe, BGP and own pods kept", async () => {
    expect(
      await labOk("hostendpoint", "create", "node1", "--interface", "eth0", "--labels", "role=edge"),
    ).toContain("hostendpoint node1-eth0 created");
    await eventually(async () => expect(await probe("dev/cli", "node1", 8080)).toBe(1), 30_000);
    expect(await probe("node2", "node1", 8080)).toBe(1);
    // Failsafe inbound: SSH and etcd.
    expect(await probe("node2", "node1", 22)).toBe(0);
    expect(await probe("dev/cli", "node1", 2379)).toBe(0);
    // Pods on the node, to and from elsewhere, and the node to its pods.
    expect(await probe("dev/cli", "dev/web", 80)).toBe(0);
    expect(await probe("dev/web", "dev/cli", 80)).toBe(0);
    expect(await probe("node1", "dev/web", 80)).toBe(0);
    // The node's own pod reaches it (DefaultEndpointToHostAction is Return in the lab).
    expect(await probe("dev/web", "node1", 8080)).toBe(0);
    // Outbound from the node is default-deny too, except failsafe destinations.
    expect(await probe("node1", "dev/cli", 80)).toBe(1);
    const status = await labOk("node", "status", "node1");
    expect(status).toMatch(/node-to-node mesh\s+\|\s+up\s+\|.*Established/);
  }, 180_000);

  it("a policy selecting the host endpoint opens a port; Felix still follows the datastore", async () => {
    const policy = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: edge-web}
spec:
  selector: role == 'edge'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8080]}}]
`;
    expect((await apply(policy)).code).toBe(0);
    await eventually(async () => expect(await probe("node2", "node1", 8080)).toBe(0), 30_000);
    expect((await calicoctl("delete", "globalnetworkpolicy", "edge-web")).code).toBe(0);
    await eventually(async () => expect(await probe("node2", "node1", 8080)).toBe(1), 30_000);
  }, 180_000);

  it("a port removed from the failsafe list closes; BGP stays up on its own failsafe port", async () => {
    const patch = JSON.stringify({
      spec: {
        failsafeInboundHostPorts: [
          { protocol: "TCP", port: 179 },
          { protocol: "TCP", port: 2379 },
        ],
      },
    });
    const out = await calicoctl("patch", "felixconfiguration", "default", "-p", patch);
    expect(out.code, out.stderr).toBe(0);
    await eventually(async () => expect(await probe("node2", "node1", 22)).toBe(1), 60_000);
    expect(await probe("node2", "node1", 2379)).toBe(0);
    await eventually(async () => {
      expect(await labOk("node", "status", "node1")).toMatch(/node-to-node mesh\s+\|\s+up\s+\|.*Established/);
    }, 30_000);
  }, 180_000);

  it("refuses bad host endpoint policy with Calico's messages and stores nothing", async () => {
    const bad = await apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: bad-prednat}
spec:
  selector: role == 'edge'
  preDNAT: true
  egress: [{action: Allow}]
`);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr + bad.stdout).toContain("preDNAT policy cannot have any egress rules");
    expect(bad.stderr + bad.stdout).toContain(
      "applyOnForward must be true if either preDNAT or doNotTrack is true",
    );
    const dnt = await apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: bad-dnt}
spec: {selector: all(), doNotTrack: true, ingress: [{action: Allow}]}
`);
    expect(dnt.code).not.toBe(0);
    expect(dnt.stderr + dnt.stdout).toContain(
      "applyOnForward must be true if either preDNAT or doNotTrack is true",
    );
    const hep = await apply(`apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: nowhere}
spec: {node: node1}
`);
    expect(hep.code).not.toBe(0);
    expect(hep.stderr + hep.stdout).toContain(
      "at least one of interfaceName or expectedIPs must be specified",
    );
    expect((await calicoctl("get", "globalnetworkpolicy")).stdout).not.toMatch(/bad-prednat|bad-dnt/);
    expect((await calicoctl("get", "hostendpoint")).stdout).not.toContain("nowhere");
  }, 180_000);
});
