/**
 * NAT outgoing in both policy modes: a workload in a `natOutgoing` pool reaches a network outside
 * every pool (a namespace with no route back to the pool) only because its traffic leaves with
 * the host's address; without `natOutgoing` the replies have nowhere to go.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ToDataplane } from "../../../src/felix/calc/messages.js";
import { type PolicyBackend, PolicyDataplane } from "../../../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { createNetns, type Netns, removeAll } from "../../support/netns.js";
import { rule, workload } from "./fixtures.js";
import { Lab, type LabWorkload } from "./lab.js";

const BACKENDS: Array<[string, PolicyBackend]> = [
  ["nftables", { kind: "nftables" }],
  ["iptables", { kind: "iptables", flavour: "nft" }],
];

function pool(masquerade: boolean): ToDataplane {
  return {
    type: "IPAMPoolUpdate",
    id: "10.240.0.0-24",
    pool: {
      cidr: "10.240.0.0/24",
      masquerade,
      ipipMode: "Never",
      vxlanMode: "Never",
      disabled: false,
      allowedUses: [],
    },
  };
}

describe.each(BACKENDS)("NAT outgoing (%s)", (_name, backend) => {
  const prefix = backend.kind === "nftables" ? "cts-nat" : "cts-nati";
  let lab: Lab;
  let outside: Netns;
  let w1: LabWorkload;
  let w2: LabWorkload;
  let dp: PolicyDataplane;
  const send = async (...msgs: ToDataplane[]) => {
    for (const m of msgs) dp.onUpdate(m);
    await dp.apply();
  };

  beforeAll(async () => {
    lab = await Lab.create(prefix);
    w1 = await lab.addWorkload(prefix, 1);
    w2 = await lab.addWorkload(prefix, 2);
    outside = await createNetns(prefix);
    await lab.host.execOk([
      "ip",
      "link",
      "add",
      "name",
      "ext0",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      outside.name,
    ]);
    await lab.host.execOk(["ip", "addr", "add", "192.0.2.1/24", "dev", "ext0"]);
    await lab.host.execOk(["ip", "link", "set", "ext0", "up"]);
    await outside.execOk(["ip", "addr", "add", "192.0.2.2/24", "dev", "eth0"]);
    await outside.execOk(["ip", "link", "set", "eth0", "up"]);
    await outside.execOk(["ip", "link", "set", "lo", "up"]);
    await lab.serve({ ns: outside, iface: "eth0", ipv4: "192.0.2.2", ipv6: "" }, [80], []);
    await lab.serve(w2, [80], []);
    dp = new PolicyDataplane((argv, input) => lab.host.exec(argv, { input }), defaultRenderConfig(), backend);
    await send(
      {
        type: "ActiveProfileUpdate",
        id: { name: "kns.test" },
        profile: { inboundRules: [rule()], outboundRules: [rule()] },
      },
      ...[w1, w2].map(
        (w, i): ToDataplane => ({
          type: "WorkloadEndpointUpdate",
          id: { orchestratorId: "k8s", workloadId: `test/w${i + 1}`, endpointId: "eth0" },
          endpoint: workload(w.iface, [`${w.ipv4}/32`], { profileIds: ["kns.test"] }),
        }),
      ),
    );
  }, 60_000);

  afterAll(async () => {
    await lab?.close();
    await outside?.remove();
    await removeAll();
  });

  it("masquerades traffic from a natOutgoing pool to outside the pools", async () => {
    await send(pool(true));
    expect(await lab.probe(w1, "tcp", "192.0.2.2", 80)).toBe("open");
    // Inside the pools nothing is rewritten, and nothing needs to be.
    expect(await lab.probe(w1, "tcp", w2.ipv4, 80)).toBe("open");
  });

  it("leaves the source alone when the pool has no natOutgoing", async () => {
    await send(pool(false));
    expect(await lab.probe(w1, "tcp", "192.0.2.2", 80)).toBe("timeout");
    await send(pool(true));
    expect(await lab.probe(w1, "tcp", "192.0.2.2", 80)).toBe("open");
    await send({ type: "IPAMPoolRemove", id: "10.240.0.0-24" });
    expect(await lab.probe(w1, "tcp", "192.0.2.2", 80)).toBe("timeout");
  });
});
