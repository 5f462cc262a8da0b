import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseNetConf } from "../../src/cni/config.js";
import {
  buildWorkloadEndpoint,
  endpointName,
  endpointNamePrefix,
  endpointProfiles,
  hostCIDR,
  networkProfile,
  sameWorkload,
} from "../../src/cni/endpoint.js";
import { parseEnv } from "../../src/cni/env.js";
import {
  determineNodename,
  handleId,
  hostInterfaceName,
  legacyHandleId,
  requireNodenameFile,
  type WorkloadIdentity,
  workloadIdentity,
} from "../../src/cni/identity.js";

const dir = mkdtempSync(join(tmpdir(), "cts-cni-id-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const conf = (extra: object = {}) =>
  parseNetConf(JSON.stringify({ name: "net1", type: "calico", ...extra }), "1.0.0");
const env = (args = "") =>
  parseEnv({
    CNI_COMMAND: "ADD",
    CNI_CONTAINERID: "abc123def4567",
    CNI_NETNS: "/x",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/b",
    CNI_ARGS: args,
  });

describe("node name", () => {
  it("prefers nodename, then the file, then hostname", () => {
    const file = join(dir, "nodename");
    writeFileSync(file, "from-file\n");
    expect(determineNodename(conf({ nodename: "explicit", nodename_file: file }))).toBe("explicit");
    expect(determineNodename(conf({ nodename_file: file, hostname: "old" }))).toBe("from-file");
    expect(determineNodename(conf({ nodename_file: join(dir, "none"), hostname: "old" }))).toBe("old");
  });

  it("requires the nodename file unless optional", () => {
    const missing = join(dir, "missing");
    expect(() => requireNodenameFile(conf({ nodename_file: missing }))).toThrow(
      "check that the calico/node container is running and has mounted /var/lib/calico/",
    );
    expect(() =>
      requireNodenameFile(conf({ nodename_file: missing, nodename_file_optional: true })),
    ).not.toThrow();
  });
});

describe("workload identity", () => {
  it("is k8s only with both pod name and namespace", () => {
    const k8s = workloadIdentity(
      conf({ nodename: "node1" }),
      env("K8S_POD_NAMESPACE=ns;K8S_POD_NAME=my-pod"),
    );
    expect(k8s).toMatchObject({ orchestrator: "k8s", pod: "my-pod", namespace: "ns" });
    const podmanLike = workloadIdentity(conf({ nodename: "node1" }), env("IgnoreUnknown=1;K8S_POD_NAME=web"));
    expect(podmanLike).toMatchObject({ orchestrator: "cni", pod: "", namespace: "default" });
  });

  it("host interface names follow Calico's rules", () => {
    const k8s: WorkloadIdentity = {
      node: "n",
      orchestrator: "k8s",
      pod: "podname",
      namespace: "namespace",
      containerId: "c",
      endpoint: "eth0",
    };
    expect(hostInterfaceName(k8s, "cali")).toBe("cali82111e10a96");
    expect(hostInterfaceName(k8s, "eni")).toBe("eni82111e10a96");
    const cni = workloadIdentity(conf({ nodename: "n" }), env());
    expect(hostInterfaceName(cni)).toBe("caliabc123def45");
    expect(handleId("net1", cni)).toBe("net1.abc123def4567");
    expect(legacyHandleId(cni)).toBe("abc123def4567");
    expect(legacyHandleId(k8s)).toBe("namespace.podname");
  });
});

describe("workload endpoint", () => {
  const cni: WorkloadIdentity = {
    node: "node-a",
    orchestrator: "cni",
    pod: "",
    namespace: "default",
    containerId: "abc123",
    endpoint: "eth0",
  };
  const k8s: WorkloadIdentity = {
    node: "node1",
    orchestrator: "k8s",
    pod: "my-pod",
    namespace: "ns",
    containerId: "sb1",
    endpoint: "eth0",
  };

  it("uses Calico's names and prefixes", () => {
    expect(endpointName(cni)).toBe("node--a-cni-abc123-eth0");
    expect(endpointName(k8s)).toBe("node1-k8s-my--pod-eth0");
    expect(endpointNamePrefix(k8s)).toBe("node1-k8s-my--pod-");
  });

  it("builds the resource with forced labels and a host-scoped address", () => {
    const wep = buildWorkloadEndpoint(
      cni,
      {
        orchestrator: "cni",
        node: "node-a",
        containerID: "abc123",
        endpoint: "eth0",
        ipNetworks: [hostCIDR("10.65.79.5/26")],
        profiles: endpointProfiles(cni, "net1", ""),
        interfaceName: "caliabc123",
        mac: "aa:bb:cc:dd:ee:ff",
      },
      {
        apiVersion: "projectcalico.org/v3",
        kind: "WorkloadEndpoint",
        metadata: { labels: { "projectcalico.org/orchestrator": "x", keep: "me" } },
      },
    );
    expect(wep.metadata).toMatchObject({
      name: "node--a-cni-abc123-eth0",
      namespace: "default",
      labels: {
        "projectcalico.org/namespace": "default",
        "projectcalico.org/orchestrator": "cni",
        keep: "me",
      },
    });
    expect(wep.spec).toMatchObject({
      ipNetworks: ["10.65.79.5/32"],
      profiles: ["net1"],
      interfaceName: "caliabc123",
    });
    expect(sameWorkload(wep, cni)).toBe(true);
    expect(sameWorkload(wep, { ...cni, containerId: "other" })).toBe(false);
  });

  it("profiles: kns.<ns> under Kubernetes policy, else the network", () => {
    expect(endpointProfiles(k8s, "net1", "k8s")).toEqual(["kns.ns"]);
    expect(endpointProfiles(k8s, "net1", "")).toEqual(["net1"]);
    expect(hostCIDR("fd00::5/122")).toBe("fd00::5/128");
  });

  it("network profile lets members talk to each other", () => {
    expect(networkProfile("net1", "cni").spec).toEqual({
      ingress: [{ action: "Allow", source: { selector: "has(net1)" } }],
      egress: [{ action: "Allow" }],
      labelsToApply: { net1: "" },
    });
    expect(networkProfile("net1", "k8s").spec).toMatchObject({ ingress: [{ action: "Allow" }] });
  });
});
