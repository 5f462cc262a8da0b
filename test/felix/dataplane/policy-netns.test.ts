import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ToDataplane, WorkloadEndpointID } from "../../../src/felix/calc/messages.js";
import { type PolicyBackend, PolicyDataplane } from "../../../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { removeAll } from "../../support/netns.js";
import { gnp, policyBody, rule, tier, workload } from "./fixtures.js";
import { Lab, type LabWorkload } from "./lab.js";

const BACKENDS: Array<[string, PolicyBackend]> = [
  ["nftables", { kind: "nftables" }],
  ["iptables (nft flavour) with ipsets", { kind: "iptables", flavour: "nft" }],
];

describe.each(BACKENDS)("%s", (_name, backend) => {
  const PREFIX = backend.kind === "nftables" ? "cts-dp" : "cts-dpi";
  let lab: Lab;
  let w1: LabWorkload;
  let w2: LabWorkload;
  let w3: LabWorkload;
  let dp: PolicyDataplane;

  function wepId(n: number): WorkloadEndpointID {
    return { orchestratorId: "k8s", workloadId: `test/w${n}`, endpointId: "eth0" };
  }

  function endpointMsg(w: LabWorkload, n: number, tiers = [] as ReturnType<typeof tier>[]): ToDataplane {
    return {
      type: "WorkloadEndpointUpdate",
      id: wepId(n),
      endpoint: workload(w.iface, [`${w.ipv4}/32`], {
        ipv6Nets: [`${w.ipv6}/128`],
        profileIds: ["kns.test"],
        tiers,
      }),
    };
  }

  async function send(...msgs: ToDataplane[]) {
    for (const m of msgs) dp.onUpdate(m);
    return dp.apply();
  }

  beforeAll(async () => {
    lab = await Lab.create(PREFIX);
    w1 = await lab.addWorkload(PREFIX, 1);
    w2 = await lab.addWorkload(PREFIX, 2);
    w3 = await lab.addWorkload(PREFIX, 3);
    await lab.serve(w2, [80, 8080], [53]);
    await lab.serve(w1, [80], []);
    dp = new PolicyDataplane((argv, input) => lab.host.exec(argv, { input }), defaultRenderConfig(), backend);
    await send(
      {
        type: "ActiveProfileUpdate",
        id: { name: "kns.test" },
        profile: { inboundRules: [rule()], outboundRules: [rule()] },
      },
      { type: "IPSetUpdate", id: "s:clients", setType: "net", members: [`${w1.ipv4}/32`, `${w1.ipv6}/128`] },
      ...[w1, w2, w3].map((w, i) => endpointMsg(w, i + 1)),
    );
  }, 60_000);

  afterAll(async () => {
    await lab?.close();
    await removeAll();
  });

  describe("workload policy", () => {
    it("programs the workload routes the traffic needs", async () => {
      const routes = await lab.host.ipJson<{ dst: string; dev: string; protocol: string }[]>([
        "route",
        "show",
        "proto",
        "boot",
      ]);
      expect(routes.map((r) => `${r.dst} ${r.dev}`).sort()).toEqual([
        "10.240.0.1 calitest1",
        "10.240.0.2 calitest2",
        "10.240.0.3 calitest3",
      ]);
      const v6 = await lab.host.ipJson<{ dst: string; dev: string }[]>([
        "-6",
        "route",
        "show",
        "proto",
        "boot",
      ]);
      expect(v6.map((r) => `${r.dst} ${r.dev}`).sort()).toEqual([
        "fd00:240::1 calitest1",
        "fd00:240::2 calitest2",
        "fd00:240::3 calitest3",
      ]);
    });

    it("is open with no policy and an allow-all profile", async () => {
      expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("open");
      expect(await lab.probe(w1, "tcp", w2.ipv4, 8080)).toBe("open");
      expect(await lab.probe(w3, "udp", w2.ipv4, 53)).toBe("open");
      expect(await lab.ping(w1, w2.ipv4)).toBe(true);
      expect(await lab.probe(w1, "tcp", w2.ipv6, 80)).toBe("open");
      expect(await lab.ping(w3, w2.ipv6)).toBe(true);
    });

    it("allows only TCP 80 from the client set once a policy selects the destination", async () => {
      const web = gnp("web");
      const allow80 = rule({
        protocol: "tcp",
        srcIpSetIds: ["s:clients"],
        dstPorts: [{ first: 80, last: 80 }],
      });
      await send(
        { type: "ActivePolicyUpdate", id: web, policy: policyBody([allow80]) },
        endpointMsg(w2, 2, [tier("default", [web])]),
      );
      expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("open");
      expect(await lab.probe(w1, "tcp", w2.ipv6, 80)).toBe("open");
      expect(await lab.probe(w1, "tcp", w2.ipv4, 8080)).toBe("timeout");
      expect(await lab.probe(w1, "udp", w2.ipv4, 53)).toBe("timeout");
      expect(await lab.ping(w1, w2.ipv4)).toBe(false);
      expect(await lab.probe(w3, "tcp", w2.ipv4, 80)).toBe("timeout");
      expect(await lab.probe(w3, "tcp", w2.ipv6, 80)).toBe("timeout");
      // Egress from the selected workload is untouched: only its ingress has a policy.
      expect(await lab.probe(w2, "tcp", w1.ipv4, 80)).toBe("open");

      await send({
        type: "IPSetDeltaUpdate",
        id: "s:clients",
        addedMembers: [`${w3.ipv4}/32`],
        removedMembers: [],
      });
      expect(await lab.probe(w3, "tcp", w2.ipv4, 80)).toBe("open");
    });

    it("honours Pass into the next tier and a deny rule", async () => {
      const sec = gnp("sec", "security");
      const web = gnp("web");
      await send(
        {
          type: "ActivePolicyUpdate",
          id: sec,
          // The first rule matches everything and must log without deciding anything.
          policy: policyBody([
            rule({ action: "log" }),
            rule({ action: "pass", srcNets: [`${w3.ipv4}/32`] }),
            rule({ action: "deny", protocol: "tcp" }),
          ]),
        },
        {
          type: "ActivePolicyUpdate",
          id: web,
          policy: policyBody([rule({ protocol: "tcp", dstPorts: [{ first: 80, last: 80 }] })]),
        },
        endpointMsg(w2, 2, [tier("security", [sec]), tier("default", [web])]),
      );
      expect(await lab.probe(w3, "tcp", w2.ipv4, 80)).toBe("open");
      expect(await lab.probe(w3, "tcp", w2.ipv4, 8080)).toBe("timeout");
      expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("timeout");
      // Not TCP, so the security tier decides nothing and its end-of-tier drop applies.
      expect(await lab.probe(w1, "udp", w2.ipv4, 53)).toBe("timeout");
    });

    it("falls through to the profiles at the end of a tier whose default action is Pass", async () => {
      const only8080 = gnp("only-8080", "security");
      const policy = policyBody([rule({ protocol: "tcp", dstPorts: [{ first: 8080, last: 8080 }] })]);
      await send(
        { type: "ActivePolicyUpdate", id: only8080, policy },
        endpointMsg(w2, 2, [tier("security", [only8080], [], "pass")]),
      );
      expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("open");
      expect(await lab.probe(w1, "tcp", w2.ipv4, 8080)).toBe("open");
      await send(endpointMsg(w2, 2, [tier("security", [only8080], [], "deny")]));
      expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("timeout");
      expect(await lab.probe(w1, "tcp", w2.ipv4, 8080)).toBe("open");
    });

    it("reopens when the policies are removed", async () => {
      await send(
        endpointMsg(w2, 2),
        { type: "ActivePolicyRemove", id: gnp("sec", "security") },
        { type: "ActivePolicyRemove", id: gnp("web") },
        { type: "ActivePolicyRemove", id: gnp("only-8080", "security") },
      );
      expect(await lab.probe(w1, "tcp", w2.ipv4, 8080)).toBe("open");
      expect(await lab.probe(w3, "udp", w2.ipv4, 53)).toBe("open");
      expect(await lab.ping(w3, w2.ipv4)).toBe(true);
      const chains =
        backend.kind === "nftables"
          ? (await lab.host.execOk(["nft", "list", "chains", "ip"])).stdout
          : (await lab.host.execOk(["iptables-save", "-t", "filter"])).stdout;
      expect(chains).toContain("cali-tw-calitest2");
      expect(chains).not.toContain("cali-pi-gnp/web");
    });

    it("drops traffic from a cali interface it has no endpoint for", async () => {
      await send({ type: "WorkloadEndpointRemove", id: wepId(3) });
      expect(await lab.probe(w3, "tcp", w2.ipv4, 80)).toBe("timeout");
      expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("open");
    });
  });
});
