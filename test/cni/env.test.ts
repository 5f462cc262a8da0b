import { describe, expect, it } from "vitest";
import { parseCniArgs, parseCommand, parseEnv, validateInterfaceName } from "../../src/cni/env.js";
import type { CniError } from "../../src/cni/errors.js";

const base = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "abc123",
  CNI_NETNS: "/var/run/netns/x",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin:/usr/lib/cni",
};

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return (err as CniError).code;
  }
  return undefined;
}

describe("CNI environment", () => {
  it("parses a complete ADD environment", () => {
    const env = parseEnv({
      ...base,
      CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;FOO=bar",
    });
    expect(env.command).toBe("ADD");
    expect(env.path).toEqual(["/opt/cni/bin", "/usr/lib/cni"]);
    expect(env.args.k8sPodName).toBe("p");
    expect(env.args.k8sPodNamespace).toBe("ns");
    expect(env.args.pairs).toContainEqual(["FOO", "bar"]);
  });

  it("names every missing variable with code 4", () => {
    expect(() => parseEnv({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "a" })).toThrow(
      "required env variables [CNI_NETNS,CNI_IFNAME,CNI_PATH] missing",
    );
    expect(codeOf(() => parseEnv({ CNI_COMMAND: "ADD" }))).toBe(4);
  });

  it("lets DEL go without CNI_NETNS and VERSION without anything", () => {
    const { CNI_NETNS: _, ...noNetns } = base;
    expect(parseEnv({ ...noNetns, CNI_COMMAND: "DEL" }).netns).toBe("");
    expect(parseEnv({ CNI_COMMAND: "VERSION" }).command).toBe("VERSION");
  });

  it("rejects unknown and missing commands", () => {
    expect(() => parseCommand("FROB")).toThrow("unknown CNI_COMMAND: FROB");
    expect(codeOf(() => parseCommand(undefined))).toBe(4);
  });

  it("validates container IDs and interface names", () => {
    expect(() => parseEnv({ ...base, CNI_CONTAINERID: "-bad" })).toThrow("invalid characters in containerID");
    expect(() => validateInterfaceName("a-very-long-interface")).toThrow("longer than 15");
    expect(() => validateInterfaceName("a/b")).toThrow("invalid character");
    expect(() => validateInterfaceName("..")).toThrow("not allowed");
    expect(() => validateInterfaceName("eth 0")).toThrow("invalid character");
    expect(codeOf(() => validateInterfaceName(""))).toBe(4);
  });
});

describe("CNI_ARGS", () => {
  it("refuses unknown keys unless IgnoreUnknown is set anywhere", () => {
    expect(() => parseCniArgs("FOO=1")).toThrow("CNI_ARGS: unknown args [FOO]");
    expect(parseCniArgs("FOO=1;IgnoreUnknown=true").ignoreUnknown).toBe(true);
  });

  it("rejects malformed pairs and bad booleans", () => {
    expect(() => parseCniArgs("K8S_POD_NAME")).toThrow('invalid pair "K8S_POD_NAME"');
    expect(() => parseCniArgs("IgnoreUnknown=maybe")).toThrow("IgnoreUnknown");
  });

  it("reads IP and the Kubernetes keys, keeping = inside values", () => {
    const a = parseCniArgs("IP=10.0.0.5;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u=1");
    expect(a.ip).toBe("10.0.0.5");
    expect(a.pairs).toContainEqual(["K8S_POD_UID", "u=1"]);
  });
});
