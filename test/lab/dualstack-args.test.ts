/** The lab's dual-stack options, pure: what `--ip`, `--pool`, `--annotations` and `--family` mean. */
import { describe, expect, it } from "vitest";
import {
  addressFor,
  DualStackError,
  parseAnnotations,
  parseFamily,
  parsePinned,
  podAnnotations,
} from "../../src/lab/dualstack.js";

const pools: Record<string, string> = { "blue-v4": "10.252.0.0/16", "blue-v6": "fd10:252::/112" };
const lookup = async (name: string) => pools[name];

describe("lab dual-stack options", () => {
  it("splits annotations only before a key, so JSON lists keep their commas", () => {
    expect(parseAnnotations('cni.projectcalico.org/ipAddrs=["10.0.0.1","fd00::1"],team=a,b=c=d')).toEqual({
      "cni.projectcalico.org/ipAddrs": '["10.0.0.1","fd00::1"]',
      team: "a",
      b: "c=d",
    });
    expect(() => parseAnnotations("novalue")).toThrow(
      new DualStackError("annotation 'novalue' is not key=value"),
    );
  });

  it("takes at most one pinned address per family", () => {
    expect(parsePinned("10.0.0.1, fd00::1")).toEqual(["10.0.0.1", "fd00::1"]);
    expect(() => parsePinned("10.0.0.1,10.0.0.2")).toThrow("--ip takes at most one IPv4 address");
    expect(() => parsePinned("fd00::1,fd00::2")).toThrow("--ip takes at most one IPv6 address");
    expect(() => parsePinned("10.0.0.300")).toThrow("--ip '10.0.0.300' is not an IP address");
  });

  it("turns --ip and --pool into Calico's annotations, the pool's family choosing the key", async () => {
    expect(await podAnnotations({ ip: ["10.0.0.1", "fd00::1"], pool: "blue-v6" }, lookup)).toEqual({
      "cni.projectcalico.org/ipAddrs": '["10.0.0.1","fd00::1"]',
      "cni.projectcalico.org/ipv6pools": '["blue-v6"]',
    });
    expect(await podAnnotations({ pool: "blue-v4", annotations: { a: "b" } }, lookup)).toEqual({
      a: "b",
      "cni.projectcalico.org/ipv4pools": '["blue-v4"]',
    });
    await expect(podAnnotations({ pool: "nope" }, lookup)).rejects.toThrow("no IP pool named nope");
  });

  it("picks the target address by family, the first one by default", () => {
    const pod = { ip: "10.0.0.1", ips: ["10.0.0.1", "fd00::1"] };
    expect(addressFor(pod, "a/b")).toBe("10.0.0.1");
    expect(addressFor(pod, "a/b", 6)).toBe("fd00::1");
    expect(addressFor({ ip: "10.0.0.9" }, "a/old", 4)).toBe("10.0.0.9");
    expect(() => addressFor({ ip: "fd00::2", ips: ["fd00::2"] }, "a/v6", 4)).toThrow(
      "pod a/v6 has no IPv4 address (it has fd00::2)",
    );
    expect(parseFamily("both", true)).toBe("both");
    expect(() => parseFamily("both", false)).toThrow("--family must be 4, 6, not 'both'");
  });
});
