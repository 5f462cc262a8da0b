/** The libnetwork driver's pure parts: option checks, names, labels, profile bookkeeping, settings. */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/libnetwork/config.js";
import {
  buildEndpoint,
  calicoLabels,
  dockerNetworkProfile,
  withNetworkIds,
} from "../../src/libnetwork/endpoint.js";
import {
  checkCalicoIpam,
  checkNetworkOptions,
  hostIfname,
  macFromBytes,
  networkIdsOf,
  tempIfname,
} from "../../src/libnetwork/protocol.js";

const EID = "6defe3b0581de92a118e2b45ae2008284079b6856f43a8800ee5f77de8cf6e2f";

describe("network options", () => {
  it("accepts --ipv6 and unset flags, refuses everything else by name", () => {
    expect(() =>
      checkNetworkOptions({
        "com.docker.network.enable_ipv6": true,
        "com.docker.network.generic": {},
        "com.docker.network.internal": false,
      }),
    ).not.toThrow();
    expect(() => checkNetworkOptions(null)).not.toThrow();
    expect(() => checkNetworkOptions({ "com.docker.network.generic": { b: "1", a: "2" } })).toThrow(
      "Calico driver does not support the flags a, b.",
    );
    expect(() => checkNetworkOptions({ "com.docker.network.internal": true })).toThrow(
      "the flag --internal.",
    );
    expect(() => checkNetworkOptions({ "com.example.other": "" })).toThrow("the flag com.example.other.");
  });

  it("recognises calico-ipam by its fake gateways and address spaces", () => {
    const v4 = { AddressSpace: "CalicoLocalAddressSpace", Gateway: "0.0.0.0/0", Pool: "10.1.0.0/16" };
    const v6 = { AddressSpace: "CalicoGlobalAddressSpace", Gateway: "::/0", Pool: "::/0" };
    expect(() => checkCalicoIpam({ NetworkID: "x", IPv4Data: [v4], IPv6Data: [v6] })).not.toThrow();
    expect(() => checkCalicoIpam({ NetworkID: "x", IPv4Data: [{ ...v4, Gateway: "10.1.0.1/16" }] })).toThrow(
      /Non-Calico IPAM/,
    );
    expect(() =>
      checkCalicoIpam({ NetworkID: "x", IPv4Data: [{ ...v4, AddressSpace: "LocalDefault" }] }),
    ).toThrow(/Non-Calico IPAM/);
    expect(() => checkCalicoIpam({ NetworkID: "x", IPv6Data: [{ ...v6, Gateway: "fd00::1/64" }] })).toThrow(
      /Non-Calico IPAM/,
    );
  });
});

describe("names and endpoints", () => {
  it("names the veth ends within 15 characters and builds Calico's v3 endpoint", () => {
    expect(hostIfname(EID)).toBe("cali6defe3b0581");
    expect(tempIfname(EID)).toBe("temp6defe3b0581");
    const wep = buildEndpoint({
      node: "node-1",
      endpointId: EID,
      ipNetworks: ["10.1.0.5/32"],
      mac: "02:00:00:00:00:01",
      profiles: ["net1"],
      labels: { "projectcalico.org/orchestrator": "spoofed", role: "web" },
    });
    expect(wep.metadata).toEqual({
      name: `node--1-libnetwork-libnetwork-${EID}`,
      namespace: "libnetwork",
      kind: "WorkloadEndpoint",
      labels: {
        role: "web",
        "projectcalico.org/namespace": "libnetwork",
        "projectcalico.org/orchestrator": "libnetwork",
      },
    });
    expect(wep.spec).toMatchObject({
      orchestrator: "libnetwork",
      workload: "libnetwork",
      interfaceName: "cali6defe3b0581",
    });
  });

  it("makes locally administered unicast MACs", () => {
    expect(macFromBytes(new Uint8Array([0xff, 1, 2, 3, 4, 5]))).toBe("fe:01:02:03:04:05");
    expect(macFromBytes(new Uint8Array([0x00, 0, 0, 0, 0, 0xaa]))).toBe("02:00:00:00:00:aa");
  });

  it("copies only org.projectcalico.label.* container labels, prefix removed", () => {
    expect(
      calicoLabels({
        "org.projectcalico.label.role": "web",
        "org.projectcalico.label.": "x",
        maintainer: "me",
      }),
    ).toEqual({ role: "web" });
    expect(calicoLabels(null)).toEqual({});
  });

  it("records the Docker networks using a profile, sorted, and reads them back", () => {
    const p = dockerNetworkProfile("net1", ["bb", "aa"]);
    expect(p.spec).toMatchObject({
      labelsToApply: { net1: "" },
      ingress: [{ source: { selector: "has(net1)" } }],
    });
    expect(networkIdsOf(p.metadata.annotations)).toEqual(["aa", "bb"]);
    expect(networkIdsOf(withNetworkIds(p, ["cc"]).metadata.annotations)).toEqual(["cc"]);
    expect(networkIdsOf(undefined)).toBeUndefined();
  });
});

describe("settings", () => {
  it("defaults as Calico's plugin and reads every switch", () => {
    const d = loadConfig({ HOSTNAME: "Host-A" });
    expect(d).toMatchObject({
      nodename: "host-a",
      pluginDir: "/run/docker/plugins",
      dockerSocket: "/var/run/docker.sock",
      ifPrefix: "cali",
      createProfiles: true,
      labelEndpoints: false,
      labelPollTimeoutMs: 5000,
      debug: false,
    });
    expect(d.vethMtu).toBeUndefined();
    const c = loadConfig({
      NODENAME: "n1",
      HOSTNAME: "ignored",
      CALICO_LIBNETWORK_IFPREFIX: "eth",
      CALICO_LIBNETWORK_CREATE_PROFILES: "FALSE",
      CALICO_LIBNETWORK_LABEL_ENDPOINTS: "true",
      CALICO_LIBNETWORK_LABEL_POLL_TIMEOUT: "1m30s",
      CALICO_LIBNETWORK_VETH_MTU: "1440",
      CALICO_DEBUG: "1",
      DOCKER_HOST: "unix:///tmp/d.sock",
    });
    expect(c).toMatchObject({
      nodename: "n1",
      ifPrefix: "eth",
      createProfiles: false,
      labelEndpoints: true,
      labelPollTimeoutMs: 90_000,
      vethMtu: 1440,
      debug: true,
      dockerSocket: "/tmp/d.sock",
    });
    expect(() => loadConfig({ CALICO_LIBNETWORK_IFPREFIX: "way-too-long-prefix" })).toThrow(/IFPREFIX/);
    expect(() => loadConfig({ CALICO_LIBNETWORK_VETH_MTU: "40" })).toThrow(/VETH_MTU \(68-65535\)/);
  });
});
