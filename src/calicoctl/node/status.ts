/**
 * `calicoctl node status`: whether Calico runs on this host, then
 * the BGP sessions BIRD reports, per address family, in Calico's table. BIRD 2 serves both
 * families from one daemon, so one control socket answers for IPv4 and IPv6.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BirdClient, type BirdProtocol } from "../../bgp/index.js";
import type { CommandContext } from "../context.js";
import { CliError } from "../io.js";

const TYPES: Record<string, string> = { Mesh: "node-to-node mesh", Node: "node specific", Global: "global" };

export interface PeerRow {
  address: string;
  type: string;
  state: string;
  since: string;
  info: string;
}

/** Rows from BIRD's BGP protocols, named as Calico names them (`Mesh_10_0_0_2`, `Node_fd00__2_port_179`). */
export function peerRows(protocols: readonly BirdProtocol[]): PeerRow[] {
  const out: PeerRow[] = [];
  for (const p of protocols) {
    const m = /^(Global|Node|Mesh)_(.+)$/.exec(p.name);
    if (p.proto !== "BGP" || !m?.[1] || !m[2]) continue;
    const raw = m[2].replace(/_port_\d+$/, "");
    const address = /^\d+_\d+_\d+_\d+$/.test(raw) ? raw.replace(/_/g, ".") : raw.replace(/_/g, ":");
    out.push({
      address,
      type: TYPES[m[1]] ?? m[1],
      state: p.state,
      since: p.since.replace(/\.\d+$/, ""),
      info: p.info,
    });
  }
  return out;
}

/** The go-pretty table Calico prints: centred upper-case headings, left-aligned cells. */
export function formatPeerTable(rows: readonly PeerRow[]): string {
  const header = ["PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"];
  const cells = rows.map((r) => [r.address, r.type, r.state, r.since, r.info]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const rule = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`;
  const centre = (text: string, w: number) => {
    const left = Math.floor((w - text.length) / 2);
    return " ".repeat(left) + text + " ".repeat(w - text.length - left);
  };
  const line = (values: string[], fmt: (v: string, w: number) => string) =>
    `| ${values.map((v, i) => fmt(v, widths[i] ?? 0)).join(" | ")} |`;
  return [
    rule,
    line(header, centre),
    rule,
    ...cells.map((c) => line(c, (v, w) => v.padEnd(w))),
    rule,
    "",
  ].join("\n");
}

function calicoRunning(): boolean {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = readFileSync(join("/proc", pid, "cmdline"), "utf8").split("\0");
      if (argv.some((a) => /(^|\/)calico-(felix|node)$/.test(a))) return true;
    } catch {
      // The process went away.
    }
  }
  return false;
}

export async function nodeStatus(ctx: CommandContext, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (process.getuid?.() !== 0) throw new CliError("This command must be run as root.");
  const socket = join(env.CALICO_RUN_DIR || "/var/run/calico", "bird.ctl");
  const bird = new BirdClient(socket);
  let protocols: BirdProtocol[] | undefined;
  let birdError = "";
  try {
    protocols = await bird.showProtocols();
  } catch (err) {
    birdError = (err as Error).message;
  }
  if (!calicoRunning() && !protocols) throw new CliError("Calico process is not running.");
  ctx.io.out("Calico process is running.\n");
  if (!protocols) {
    ctx.io.out(`\nThe BGP backend process (BIRD) is not running.\n`);
    ctx.log.info(`Error querying BIRD: unable to connect to BIRD socket ${socket}: ${birdError}`);
    ctx.io.out("\n");
    return;
  }
  const rows = peerRows(protocols);
  for (const family of [4, 6] as const) {
    const mine = rows.filter((r) => r.address.includes(":") === (family === 6));
    ctx.io.out(`\nIPv${family} BGP status\n`);
    ctx.io.out(mine.length === 0 ? `No IPv${family} peers found.\n` : formatPeerTable(mine));
  }
  ctx.io.out("\n");
}
