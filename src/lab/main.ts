/** `calico-lab`: the command line of the multi-node lab. Exit 1 on failure, 2 on bad usage. */
import { Command, InvalidArgumentError } from "commander";
import { Lab } from "./lab.js";
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

const progress = (msg: string) => process.stderr.write(`calico-lab: ${msg}\n`);

export async function main(argv: string[] = process.argv): Promise<void> {
  const lab = new Lab();
  const program = new Command("calico-lab")
    .description("A multi-node Calico cluster on this host, in network namespaces")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command("up")
    .description("create the lab: etcd, N node namespaces running calico-node, BGP mesh")
    .option("--nodes <N>", "number of nodes", intOption, 3)
    .option("--typha <N>", "also run N Typhas and point every node's Felix and confd at them", intOption, 0)
    .action(async (o: { nodes: number; typha: number }) => {
      await lab.up(o.nodes, progress, { typha: o.typha });
      process.stdout.write(
        `Lab is up with ${o.nodes} nodes. Point calicoctl at it with: eval "$(calico-lab env)"\n`,
      );
    });
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
  const ns = program
    .command("namespace")
    .description("Kubernetes-style namespaces (Calico profiles kns.<name>)");
  ns.command("create <name>")
    .option("--labels <k=v,...>", "namespace labels", parseLabels, {})
    .action((name: string, o: { labels: Record<string, string> }) => lab.namespaceCreate(name, o.labels));
  ns.command("label <name> <labels...>").action((name: string, labels: string[]) =>
    lab.namespaceLabel(name, parseLabelChanges(labels)),
  );
  const pod = program.command("pod").description("workloads wired by the calico CNI plugin");
  pod
    .command("create <ns/name>")
    .option("--node <node>", "node to run on (default: spread over the nodes)")
    .option("--labels <k=v,...>", "pod labels", parseLabels, {})
    .option("--serve <specs>", "servers to start: tcp:80:http,udp:81,...", parseServe, [])
    .action(
      async (ref: string, o: { node?: string; labels: Record<string, string>; serve: LabPod["serve"] }) => {
        const p = await lab.podCreate(
          ref,
          { ...(o.node ? { node: o.node } : {}), labels: o.labels, serve: o.serve },
          progress,
        );
        process.stdout.write(`${ref} ${p.node} ${p.ip}\n`);
      },
    );
  pod
    .command("label <ns/name> <labels...>")
    .action((ref: string, labels: string[]) => lab.podLabel(ref, parseLabelChanges(labels)));
  pod.command("delete <ns/name>").action((ref: string) => lab.podDelete(ref));
  program
    .command("probe <from> <to>")
    .description("exit 0 when FROM reaches TO on the port, 1 when it does not, 2 on error")
    .requiredOption("--port <P>", "port", intOption)
    .option("--protocol <proto>", "tcp, udp or sctp", "tcp")
    .action(async (from: string, to: string, o: { port: number; protocol: string }) => {
      const result = await lab.probe(from, to, o.port, o.protocol);
      process.stdout.write(`${from} -> ${to} ${o.protocol}/${o.port}: ${result}\n`);
      process.exitCode = result === "open" ? 0 : 1;
    });
  program
    .command("matrix")
    .description("reachability between every pair of pods")
    .option("--port <P>", "port", intOption, 80)
    .option("--protocol <proto>", "tcp, udp or sctp", "tcp")
    .option("--json", "print JSON")
    .action(async (o: { port: number; protocol: string; json?: boolean }) => {
      const cells = await lab.matrix(o.port, o.protocol);
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
      const pods = [...new Set(cells.flatMap((c) => [c.from, c.to]))].sort();
      const w = Math.max(9, ...pods.map((p) => p.length)) + 2;
      const lines = [
        `${o.protocol}/${o.port}  (rows: from, columns: to; ok = reachable, -- = blocked)`,
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
      process.stdout.write(`${lines.join("\n")}\n`);
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
