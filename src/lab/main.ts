/** `calico-lab`: the command line of the multi-node lab. Exit 1 on failure, 2 on bad usage. */
import { Command, InvalidArgumentError } from "commander";
import { formatTable, missedFinalGoals, missedGoals } from "./chaos/report.js";
import { faultIds, runChaos } from "./chaos/run.js";
import { labDockerUp } from "./docker.js";
import { DualStackError, type Family, parseAnnotations, parseFamily, parsePinned } from "./dualstack.js";
import { registerFlowCommands } from "./flows-cli.js";
import { hostEndpointCreate, nodeServe, nodeStatus } from "./hostendpoint.js";
import { Lab } from "./lab.js";
import { type LabNetwork, parseNetwork } from "./network.js";
import type { LabPod } from "./state.js";

function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new InvalidArgumentError(`label '${part}' is not key=value`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** `k=v` sets, `k-` removes (as kubectl label does). */
function parseLabelChanges(args: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const a of args) {
    if (a.endsWith("-") && !a.includes("=")) out[a.slice(0, -1)] = null;
    else Object.assign(out, parseLabels(a));
  }
  if (Object.keys(out).length === 0)
    throw new InvalidArgumentError("give at least one key=value (or key- to remove)");
  return out;
}

function parseServe(text: string | undefined): LabPod["serve"] {
  const out: LabPod["serve"] = [];
  for (const part of (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s)) {
    const [protocol, port, name, extra] = part.split(":");
    const n = Number(port);
    if (
      (protocol !== "tcp" && protocol !== "udp") ||
      !Number.isInteger(n) ||
      n < 1 ||
      n > 65535 ||
      extra !== undefined
    )
      throw new InvalidArgumentError(`--serve entry '${part}' must be tcp|udp:PORT[:NAME]`);
    out.push(name ? { protocol, port: n, name } : { protocol, port: n });
  }
  return out;
}

function intOption(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`'${text}' is not a whole number`);
  return n;
}

/** Turns a dual-stack option parser's error into commander's usage error (exit 2). */
function usage<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      if (err instanceof DualStackError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

const progress = (msg: string) => process.stderr.write(`calico-lab: ${msg}\n`);

export async function main(argv: string[] = process.argv): Promise<void> {
  const lab = new Lab();
  const program = new Command("calico-lab")
    .description("A multi-node Calico cluster on this host, in network namespaces")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command("up")
    .description(
      "create the lab: etcd, N node namespaces running calico-node, BGP mesh (or VXLAN with --encap)",
    )
    .option("--nodes <N>", "number of nodes", intOption, 3)
    .option(
      "--fabric <l2|l3>",
      "l2: one bridge (default); l3: node subnets joined by a router that knows no pod address",
    )
    .option("--subnets <K>", "node subnets of an l3 fabric (default 2)", intOption)
    .option("--encap <vxlan|ipip|none>", "encapsulation of the default pool (default none: BGP-routed)")
    .option("--cross-subnet", "encapsulate only between subnets (the pool's CrossSubnet mode)")
    .option(
      "--mtu <N>",
      "MTU of the fabric links (default 1500); Felix derives the tunnel and pod MTUs",
      intOption,
    )
    .option("--ipv6", "dual stack: IPv6 node addresses, an IPv6 pool and an IPv6 address per pod")
    .option("--typha <N>", "also run N Typhas and point every node's Felix and confd at them", intOption, 0)
    .option(
      "--route-reflectors <N>",
      "make the first N nodes BGP route reflectors and turn the node-to-node mesh off (for big labs)",
      intOption,
      0,
    )
    .option("--flow-logs", "every node's Felix logs flows (see `calico-lab flows` and `calico-lab ui`)")
    .option(
      "--etcd <N>",
      "etcd members: 1 (default), 3 or 5; with more than one every client is given every member",
      intOption,
      1,
    )
    .action(
      async (o: {
        nodes: number;
        ipv6?: boolean;
        typha: number;
        etcd: number;
        fabric?: string;
        subnets?: number;
        encap?: string;
        crossSubnet?: boolean;
        mtu?: number;
        routeReflectors: number;
        flowLogs?: boolean;
      }) => {
        let network: LabNetwork | undefined;
        try {
          network =
            o.fabric || o.encap || o.crossSubnet || o.subnets !== undefined || o.mtu !== undefined
              ? parseNetwork(o)
              : undefined;
        } catch (err) {
          program.error(`calico-lab: ${(err as Error).message}`, { exitCode: 2 });
        }
        await lab.up(o.nodes, progress, network, {
          ipv6: o.ipv6 === true,
          typha: o.typha,
          routeReflectors: o.routeReflectors,
          flowLogs: o.flowLogs === true,
          etcd: o.etcd,
        });
        process.stdout.write(
          `Lab is up with ${o.nodes} nodes. Point calicoctl at it with: eval "$(calico-lab env)"\n`,
        );
      },
    );
  program
    .command("down")
    .description("remove every namespace, process and file the lab made")
    .action(() => lab.down(progress));
  program
    .command("status")
    .description("nodes, their readiness, and pods")
    .action(async () => {
      process.stdout.write(await lab.status());
    });
  program
    .command("env")
    .description("exports that point calicoctl at the lab's etcd")
    .action(() => {
      process.stdout.write(lab.env());
    });
  const node = program
    .command("node")
    .description("nodes joining and leaving the running lab, their own services and BGP status");
  node
    .command("add")
    .description("a new node joins: namespace on the fabric, calico-node, ready")
    .option("--subnet <K>", "l3 fabric: the subnet to join (default: the next in turn)", intOption)
    .action(async (o: { subnet?: number }) => {
      const n = await lab.nodeAdd(progress, o.subnet);
      process.stdout.write(`${n.name} ${n.ip}\n`);
    });
  node
    .command("remove <node>")
    .description("a node leaves for good: its processes, namespace, tunnel addresses, affinities and Node go")
    .action((name: string) => lab.nodeRemove(name, progress));
  program
    .command("docker")
    .description("Docker with Calico's network and IPAM drivers on a lab node")
    .command("up")
    .description("start dockerd and calico-libnetwork in a node (its own data root and socket)")
    .option("--node <node>", "lab node (default: the first)")
    .action(async (o: { node?: string }) => {
      progress("starting dockerd and calico-libnetwork");
      const d = await labDockerUp(lab.paths, o.node);
      process.stdout.write(
        `Docker is up on ${d.nodename}. Use it with:\n  docker -H unix://${d.socket} network create --driver calico --ipam-driver calico-ipam net1\n  docker -H unix://${d.socket} run -d --net net1 busybox sleep 3600\n`,
      );
    });
  const ns = program
    .command("namespace")
    .description("Kubernetes-style namespaces (Calico profiles kns.<name>)");
  ns.command("create <name>")
    .option("--labels <k=v,...>", "namespace labels", parseLabels, {})
    .option(
      "--annotations <k=v,...>",
      'namespace annotations, e.g. cni.projectcalico.org/ipv4pools=["pool"]',
      usage(parseAnnotations),
      {},
    )
    .action((name: string, o: { labels: Record<string, string>; annotations: Record<string, string> }) =>
      lab.namespaceCreate(name, o.labels, o.annotations),
    );
  ns.command("label <name> <labels...>").action((name: string, labels: string[]) =>
    lab.namespaceLabel(name, parseLabelChanges(labels)),
  );
  const pod = program.command("pod").description("workloads wired by the calico CNI plugin");
  pod
    .command("create <ns/name>")
    .option("--node <node>", "node to run on (default: spread over the nodes)")
    .option("--labels <k=v,...>", "pod labels", parseLabels, {})
    .option("--serve <specs>", "servers to start: tcp:80:http,udp:81,...", parseServe, [])
    .option(
      "--ip <addr[,addr6]>",
      "pin the pod's addresses (annotation cni.projectcalico.org/ipAddrs)",
      usage(parsePinned),
    )
    .option(
      "--pool <name>",
      "allocate from this IP pool (annotation cni.projectcalico.org/ipv4pools or ipv6pools)",
    )
    .option("--annotations <k=v,...>", "pod annotations the CNI plugin reads", usage(parseAnnotations), {})
    .action(
      async (
        ref: string,
        o: {
          node?: string;
          labels: Record<string, string>;
          serve: LabPod["serve"];
          ip?: string[];
          pool?: string;
          annotations: Record<string, string>;
        },
      ) => {
        const p = await lab.podCreate(
          ref,
          {
            ...(o.node ? { node: o.node } : {}),
            labels: o.labels,
            serve: o.serve,
            annotations: o.annotations,
            ...(o.ip ? { ip: o.ip } : {}),
            ...(o.pool ? { pool: o.pool } : {}),
          },
          progress,
        );
        process.stdout.write(`${ref} ${p.node} ${(p.ips ?? [p.ip]).join(",")}\n`);
      },
    );
  pod
    .command("label <ns/name> <labels...>")
    .action((ref: string, labels: string[]) => lab.podLabel(ref, parseLabelChanges(labels)));
  pod.command("delete <ns/name>").action((ref: string) => lab.podDelete(ref));
  const hep = program.command("hostendpoint").description("host endpoints: policy for the nodes themselves");
  hep
    .command("create <node>")
    .description("protect a node's interface (denies all but the failsafe ports until a policy allows more)")
    .option("--interface <name>", "interface to protect, or * for every one", "eth0")
    .option("--labels <k=v,...>", "labels for policy selectors", parseLabels, {})
    .action(async (node: string, o: { interface: string; labels: Record<string, string> }) => {
      const name = await hostEndpointCreate(lab.paths, node, o.interface, o.labels);
      process.stdout.write(`hostendpoint ${name} created\n`);
    });
  node
    .command("serve <node>")
    .description("start servers in the node's own namespace, to probe the node")
    .requiredOption("--serve <specs>", "servers: tcp:22,tcp:8080,udp:53,...", parseServe)
    .action(async (name: string, o: { serve: LabPod["serve"] }) => {
      await nodeServe(lab.paths, name, o.serve);
    });
  node
    .command("status <node>")
    .description("calicoctl node status, run inside the node")
    .action(async (name: string) => {
      const out = await nodeStatus(lab.paths, name);
      process.stdout.write(out.stdout);
      process.stderr.write(out.stderr);
      process.exitCode = out.code;
    });
  program
    .command("probe <from> <to>")
    .description(
      "exit 0 when FROM reaches TO on the port, 1 when it does not, 2 on error (a pod NS/NAME or a node)",
    )
    .requiredOption("--port <P>", "port", intOption)
    .option("--protocol <proto>", "tcp, udp or sctp", "tcp")
    .option(
      "--family <4|6>",
      "address family (default: that of TO's first address)",
      usage((t) => parseFamily(t, false)),
    )
    .action(async (from: string, to: string, o: { port: number; protocol: string; family?: Family }) => {
      const result = await lab.probe(from, to, o.port, o.protocol, 1_000, o.family);
      process.stdout.write(`${from} -> ${to} ${o.protocol}/${o.port}: ${result}\n`);
      process.exitCode = result === "open" ? 0 : 1;
    });
  program
    .command("trace <from> <to>")
    .description(
      "why FROM does or does not reach TO: the policy trace (each tier, policy, rule and profile on the way), " +
        "then a real probe; exit 0 when they agree, 1 when they disagree, 2 on bad input (a pod NS/NAME or a node)",
    )
    .requiredOption("--port <P>", "destination port", intOption)
    .option("--protocol <proto>", "tcp or udp", "tcp")
    .option("--json", "print the trace, the probe and the agreement as JSON")
    .action(async (from: string, to: string, o: { port: number; protocol: string; json?: boolean }) => {
      let t: Awaited<ReturnType<Lab["trace"]>>;
      try {
        t = await lab.trace(from, to, o.port, o.protocol);
      } catch (err) {
        process.stderr.write(`calico-lab: ${(err as Error).message}\n`);
        process.exit(2);
      }
      const { formatTrace } = await import("../felix/trace/index.js");
      if (o.json) process.stdout.write(`${JSON.stringify(t, null, 2)}\n`);
      else {
        const seen = t.reachable ? "reachable" : "not reachable";
        process.stdout.write(
          `${formatTrace(t.trace)}\nProbe: ${from} -> ${to} ${o.protocol}/${o.port}: ${t.probe} (${seen})\n` +
            `${t.agree ? "Trace and probe agree." : "Trace and probe DISAGREE."}\n`,
        );
      }
      process.exitCode = t.agree ? 0 : 1;
    });
  program
    .command("matrix")
    .description("reachability between every pair of pods")
    .option("--port <P>", "port", intOption, 80)
    .option("--protocol <proto>", "tcp, udp or sctp", "tcp")
    .option("--json", "print JSON")
    .option(
      "--family <4|6|both>",
      "address family (default: each target's first address); both prints a table per family",
      usage((t) => parseFamily(t, true)),
    )
    .action(async (o: { port: number; protocol: string; json?: boolean; family?: Family | "both" }) => {
      const families = o.family === "both" ? ([4, 6] as const) : [o.family];
      const tables = [];
      for (const family of families)
        tables.push({ family, cells: await lab.matrix(o.port, o.protocol, family) });
      const cells = tables.flatMap((t) => t.cells);
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify(
            cells.map((c) => ({ ...c, reachable: c.result === "open" })),
            null,
            2,
          )}\n`,
        );
        return;
      }
      const out: string[] = [];
      for (const { family, cells } of tables) {
        const pods = [...new Set(cells.flatMap((c) => [c.from, c.to]))].sort();
        const w = Math.max(9, ...pods.map((p) => p.length)) + 2;
        const over = family ? `, IPv${family}` : "";
        const lines = [
          `${o.protocol}/${o.port}${over}  (rows: from, columns: to; ok = reachable, -- = blocked)`,
          `${"".padEnd(w)}${pods.map((p) => p.padEnd(w)).join("")}`,
        ];
        for (const from of pods)
          lines.push(
            `${from.padEnd(w)}${pods
              .map((to) =>
                (to === from
                  ? "."
                  : cells.find((c) => c.from === from && c.to === to)?.result === "open"
                    ? "ok"
                    : "--"
                ).padEnd(w),
              )
              .join("")}`,
          );
        out.push(lines.join("\n"));
      }
      process.stdout.write(`${out.join("\n\n")}\n`);
    });
  registerFlowCommands(program, lab);
  program
    .command("chaos")
    .description(
      "inject faults one at a time, then together, under a steady workload; print what broke (exit 1 when a goal is missed)",
    )
    .option("--quick", "short holds (quorum lost 5 s instead of 30 s, link down 2 s instead of 5 s)")
    .option("--only <faults>", `comma-separated faults to run: ${faultIds().join(", ")}`, (t: string) =>
      t.split(",").map((s) => s.trim()),
    )
    .option("--json", "print the figures as JSON instead of a table")
    .action(async (o: { quick?: boolean; only?: string[]; json?: boolean }) => {
      const out = await runChaos(
        lab.paths,
        { quick: o.quick === true, ...(o.only ? { only: o.only } : {}) },
        progress,
      );
      const missed = [...out.results.flatMap(missedGoals), ...missedFinalGoals(out.final)];
      if (o.json) process.stdout.write(`${JSON.stringify({ ...out, missed }, null, 2)}\n`);
      else {
        process.stdout.write(formatTable(out.results, out.final));
        for (const n of out.notes) process.stdout.write(`note: ${n}\n`);
        for (const m of missed) process.stdout.write(`MISSED: ${m}\n`);
      }
      if (missed.length > 0) process.exitCode = 1;
    });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof InvalidArgumentError || (err as { code?: string }).code?.startsWith("commander.")) {
      const code = (err as { exitCode?: number }).exitCode;
      process.exit(code === 0 ? 0 : 2);
    }
    process.stderr.write(`calico-lab: ${(err as Error).message}\n`);
    // `probe` promises 2 for "could not probe", distinct from 1 for "not reachable".
    process.exit(argv.includes("probe") || argv.includes("matrix") ? 2 : 1);
  }
}
