/**
 * A host namespace with two workloads, Felix's policy dataplane and the flow log collector, for
 * the flow log netns test and benchmark: workload a may reach b on any UDP or TCP port (rule 0 of
 * policy `allow-a` in b's ingress) except UDP 9 (rule 0 of `deny-discard`, ahead of it).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ToDataplane } from "../../../src/felix/calc/messages.js";
import { type PolicyBackend, PolicyDataplane } from "../../../src/felix/dataplane/policy-dataplane.js";
import { defaultRenderConfig } from "../../../src/felix/dataplane/rules/config.js";
import { type FlowLog, FlowLogCollector } from "../../../src/felix/flowlogs/index.js";
import { gnp, policyBody, rule, tier, workload } from "../dataplane/fixtures.js";
import { Lab, type LabWorkload } from "../dataplane/lab.js";

export interface FlowLab {
  lab: Lab;
  a: LabWorkload;
  b: LabWorkload;
  /** Programs the ruleset with flow log NFLOG rules on or off (nftables unless told). */
  setFlowLogs(on: boolean, backend?: PolicyBackend): Promise<void>;
  /** Starts a collector (flush only on demand unless `flushSeconds` is given). */
  startCollector(flushSeconds?: number): Promise<FlowLogCollector>;
  records: FlowLog[];
  close(): Promise<void>;
}

function messages(a: LabWorkload, b: LabWorkload): ToDataplane[] {
  const allow = gnp("allow-a");
  const deny = gnp("deny-discard");
  return [
    {
      type: "ActiveProfileUpdate",
      id: { name: "kns.bench" },
      profile: { inboundRules: [rule()], outboundRules: [rule()] },
    },
    { type: "IPSetUpdate", id: "s:a", setType: "net", members: [`${a.ipv4}/32`] },
    {
      type: "ActivePolicyUpdate",
      id: deny,
      policy: policyBody([rule({ action: "deny", protocol: "udp", dstPorts: [{ first: 9, last: 9 }] })]),
    },
    { type: "ActivePolicyUpdate", id: allow, policy: policyBody([rule({ srcIpSetIds: ["s:a"] })]) },
    {
      type: "WorkloadEndpointUpdate",
      id: { orchestratorId: "k8s", workloadId: "bench/a", endpointId: "eth0" },
      endpoint: workload(a.iface, [`${a.ipv4}/32`], { profileIds: ["kns.bench"] }),
    },
    {
      type: "WorkloadEndpointUpdate",
      id: { orchestratorId: "k8s", workloadId: "bench/b", endpointId: "eth0" },
      endpoint: workload(b.iface, [`${b.ipv4}/32`], {
        profileIds: ["kns.bench"],
        tiers: [tier("default", [deny, allow])],
      }),
    },
  ];
}

export async function createFlowLab(prefix: string): Promise<FlowLab> {
  const lab = await Lab.create(prefix);
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-flows-`));
  const collectors: FlowLogCollector[] = [];
  try {
    const a = await lab.addWorkload(prefix, 1);
    const b = await lab.addWorkload(prefix, 2);
    for (const w of [a, b]) await lab.host.execOk(["ip", "route", "replace", `${w.ipv4}/32`, "dev", w.iface]);
    const run = (argv: string[], input?: string) => lab.host.exec(argv, input === undefined ? {} : { input });
    const names: Record<
      string,
      { name: string; namespace: string; labels: Record<string, string>; node: string }
    > = {
      [a.ipv4]: { name: "a", namespace: "bench", labels: { role: "client" }, node: "host" },
      [b.ipv4]: { name: "b", namespace: "bench", labels: { role: "server" }, node: "host" },
    };
    const flowLab: FlowLab = {
      lab,
      a,
      b,
      records: [],
      async setFlowLogs(on, backend = { kind: "nftables" }) {
        const dp = new PolicyDataplane(run, defaultRenderConfig({ flowLogs: on }), backend);
        for (const m of messages(a, b)) dp.onUpdate(m);
        await dp.apply();
      },
      async startCollector(flushSeconds = 3600) {
        const c = new FlowLogCollector({
          host: "host",
          run,
          spawnPrefix: ["nsenter", `--net=${lab.host.path}`],
          flushIntervalSeconds: flushSeconds,
          file: { directory: dir, maxFiles: 2, maxFileSizeMB: 200 },
          lookup: (ip) => names[ip],
          tierOf: () => "default",
          onFlush: (records) => flowLab.records.push(...records),
        });
        await c.start();
        collectors.push(c);
        return c;
      },
      async close() {
        for (const c of collectors) await c.stop().catch(() => undefined);
        await lab.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
    return flowLab;
  } catch (err) {
    await lab.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Node script for a workload: sends one UDP datagram to each of `count` consecutive ports of
 * `host` (so each is a new flow), paced at `rate` per second; prints how many it sent.
 */
export const UDP_FLOWS = `
const s = require("node:dgram").createSocket("udp4");
const [host, first, count, rate] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const payload = Buffer.alloc(16);
let sent = 0;
const start = Date.now();
function tick() {
  const due = Math.min(count, Math.floor(((Date.now() - start) / 1000) * rate) + 1);
  while (sent < due) s.send(payload, first + sent++, host);
  if (sent < count) setTimeout(tick, 1);
  else setTimeout(() => { console.log(sent); process.exit(0); }, 200);
}
s.bind(0, tick);
`;
