/** The lab's flow commands: `calico-lab flows` (and `calico-lab ui`, the web view). */
import { type Command, InvalidArgumentError } from "commander";
import type { FlowFilter, FlowLog } from "../felix/flowlogs/index.js";
import { formatFlow, formatFlowHeader } from "./flows.js";
import type { Lab } from "./lab.js";
import { serveUi } from "./ui.js";

function portOption(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`'${text}' is not a port (0-65535)`);
  return n;
}

export function registerFlowCommands(program: Command, lab: Lab): void {
  program
    .command("flows")
    .description(
      "flow logs from every node (needs `up --flow-logs`): who talked to whom, allowed or denied by which policy rule",
    )
    .option("--follow", "keep printing flows as the nodes log them (Ctrl-C stops)")
    .option("--denied", "only denied flows")
    .option("--allowed", "only allowed flows")
    .option("--namespace <ns>", "only flows with an end in this namespace")
    .option("--pod <name>", "only flows with an end named this")
    .option("--policy <text>", "only flows decided by a policy whose name contains this (e.g. np/prod/db)")
    .option("--json", "print JSON lines (Calico's flow log fields)")
    .action(
      async (o: {
        follow?: boolean;
        denied?: boolean;
        allowed?: boolean;
        namespace?: string;
        pod?: string;
        policy?: string;
        json?: boolean;
      }) => {
        if (o.denied && o.allowed)
          program.error("calico-lab: --denied and --allowed exclude each other", { exitCode: 2 });
        const filter: FlowFilter = {
          ...(o.denied ? { action: "deny" as const } : {}),
          ...(o.allowed ? { action: "allow" as const } : {}),
          ...(o.namespace ? { namespace: o.namespace } : {}),
          ...(o.pod ? { name: o.pod } : {}),
          ...(o.policy ? { policy: o.policy } : {}),
        };
        const print = (r: FlowLog) => process.stdout.write(`${o.json ? JSON.stringify(r) : formatFlow(r)}\n`);
        if (!o.json) process.stdout.write(`${formatFlowHeader()}\n`);
        for (const r of lab.flows(filter)) print(r);
        if (!o.follow) return;
        const stop = new AbortController();
        for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stop.abort());
        await lab.followFlows(filter, print, stop.signal);
      },
    );
  program
    .command("ui")
    .description(
      "serve a web view of the lab on localhost: nodes, pods, live flows (with `up --flow-logs`) and the matrix",
    )
    .option("--port <P>", "port to listen on (0 picks a free one)", portOption, 8099)
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--probe-port <P>", "port the matrix probes", portOption, 80)
    .option("--probe-protocol <proto>", "protocol the matrix probes (tcp or udp)", "tcp")
    .action(async (o: { port: number; host: string; probePort: number; probeProtocol: string }) => {
      if (o.probeProtocol !== "tcp" && o.probeProtocol !== "udp")
        program.error(`calico-lab: --probe-protocol must be tcp or udp, not '${o.probeProtocol}'`, {
          exitCode: 2,
        });
      lab.currentState();
      const ui = await serveUi(lab, o.host, o.port, { port: o.probePort, protocol: o.probeProtocol });
      process.stdout.write(
        `calico-lab ui: http://${o.host.includes(":") ? `[${o.host}]` : o.host}:${ui.port}/ (Ctrl-C stops)\n`,
      );
      await new Promise<void>((resolve) => {
        for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve());
      });
      await ui.close();
    });
}
