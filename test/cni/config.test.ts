import { describe, expect, it } from "vitest";
import { DEFAULT_NODENAME_FILE, parseNetConf } from "../../src/cni/config.js";
import type { CniError } from "../../src/cni/errors.js";

const minimal = { name: "net1", type: "calico", ipam: { type: "calico-ipam" } };

function failure(stdin: string): CniError {
  try {
    parseNetConf(stdin, "0.2.0");
  } catch (err) {
    return err as CniError;
  }
  throw new Error("expected a failure");
}

describe("network config", () => {
  it("applies Calico's defaults", () => {
    const c = parseNetConf(JSON.stringify(minimal), "0.2.0");
    expect(c.cniVersion).toBe("0.2.0");
    expect(c.mtu).toBe(0);
    expect(c.numQueues).toBe(1);
    expect(c.nodenameFile).toBe(DEFAULT_NODENAME_FILE);
    expect(c.nodenameFileOptional).toBe(false);
    expect(c.ipam).toEqual({
      type: "calico-ipam",
      assignIpv4: true,
      assignIpv6: false,
      ipv4Pools: [],
      ipv6Pools: [],
    });
    expect(c.logLevel).toBe("info");
    expect(c.datastoreType).toBeUndefined();
  });

  it("reads every Calico field it uses", () => {
    const c = parseNetConf(
      JSON.stringify({
        ...minimal,
        cniVersion: "1.0.0",
        datastore_type: "etcdv3",
        etcd_endpoints: "http://127.0.0.1:1,http://127.0.0.1:2",
        etcd_key_file: "/k",
        etcd_cert_file: "/c",
        etcd_ca_cert_file: "/ca",
        nodename: "n1",
        nodename_file: "/tmp/nn",
        nodename_file_optional: true,
        mtu: 1440,
        num_queues: -3,
        log_level: "DEBUG",
        log_file_path: "/tmp/x.log",
        ipam: {
          type: "host-local",
          assign_ipv4: "false",
          assign_ipv6: "true",
          ipv6_pools: ["fd00::/64"],
          subnet: "x",
        },
        container_settings: { allow_ip_forwarding: true },
        policy: { type: "k8s" },
      }),
      "0.2.0",
    );
    expect(c.etcd).toMatchObject({
      endpoints: "http://127.0.0.1:1,http://127.0.0.1:2",
      keyFile: "/k",
      certFile: "/c",
      caCertFile: "/ca",
    });
    expect(c.nodename).toBe("n1");
    expect(c.nodenameFileOptional).toBe(true);
    expect(c.mtu).toBe(1440);
    expect(c.numQueues).toBe(1);
    expect(c.logLevel).toBe("debug");
    const level = (l: string) =>
      parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "calico", log_level: l }), "0.2.0")
        .logLevel;
    expect(["warning", "WARN", "error", "panic", "info", "bogus"].map(level)).toEqual([
      "warning",
      "warning",
      "error",
      "error",
      "info",
      "info",
    ]);
    expect(c.ipam.assignIpv4).toBe(false);
    expect(c.ipam.assignIpv6).toBe(true);
    expect(c.ipam.ipv6Pools).toEqual(["fd00::/64"]);
    expect(c.allowIpForwarding).toBe(true);
    expect(c.policyType).toBe("k8s");
    expect((c.raw.ipam as { subnet: string }).subnet).toBe("x");
  });

  it("reports undecodable input with code 6", () => {
    const e = failure("{nope");
    expect(e.code).toBe(6);
    expect(e.message).toBe("error parsing network config from stdin");
    expect(failure("[1]").code).toBe(6);
  });

  it("names the field that has the wrong type (code 7)", () => {
    const e = failure(JSON.stringify({ ...minimal, mtu: "1500" }));
    expect(e.code).toBe(7);
    expect(e.message).toContain('field "mtu" must be an integer');
    expect(
      failure(JSON.stringify({ ...minimal, ipam: { type: "calico-ipam", assign_ipv4: true } })).message,
    ).toContain('"ipam.assign_ipv4" must be a string');
    expect(failure(JSON.stringify({ ...minimal, device_type: "tap" })).message).toContain("device_type");
  });

  it("requires a valid network name", () => {
    expect(failure(JSON.stringify({ type: "calico" })).message).toBe("missing network name");
    expect(failure(JSON.stringify({ name: "bad name" })).message).toBe(
      "invalid characters found in network name",
    );
  });
});
