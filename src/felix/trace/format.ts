/** The trace as a table a person reads top to bottom: the verdict first, then each chain's steps. */
import type { DirectionTrace, TraceEndpoint, TraceResult } from "./tracer.js";
import type { TraceStep } from "./walk.js";

function who(e: TraceEndpoint): string {
  if (e.kind === "ip") return `${e.name} (not a Calico endpoint)`;
  const kind = e.kind === "workload" ? "workload" : "host endpoint";
  return `${e.name} (${kind} on ${e.node}, ${e.ip})`;
}

function address(ip: string, port: number | undefined): string {
  if (port === undefined) return ip;
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function ruleCell(s: TraceStep): string {
  if (s.rule) return `#${s.rule.index} ${s.rule.text || s.rule.rendered}`;
  return s.note ?? "";
}

function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("   ")
      .trimEnd(),
  );
}

function direction(d: DirectionTrace): string[] {
  const title = `${d.direction.toUpperCase()} of ${d.endpoint.name}`;
  const where = d.chain ? ` — chain ${d.chain}${d.endpoint.node ? ` on ${d.endpoint.node}` : ""}` : "";
  const out = [`${title}${where}: ${d.verdict.toUpperCase()} (${d.reason})`];
  if (d.steps.length === 0) return out;
  const rows = [["STEP", "TIER", "POLICY/PROFILE", "RESULT", "RULE"]];
  for (const s of d.steps) {
    // Log rules log and go on, so they come before the rule that decided.
    for (const l of s.logged ?? [])
      rows.push([s.kind, s.tier ?? "", s.name, "log", `#${l.index} ${l.text || l.rendered}`]);
    rows.push([s.kind, s.tier ?? "", s.name, s.outcome, ruleCell(s)]);
  }
  for (const line of columns(rows)) out.push(`  ${line}`);
  return out;
}

export function formatTrace(t: TraceResult): string {
  const p = t.packet;
  const what = p.icmp ? `${p.protocol} type ${p.icmp.type} code ${p.icmp.code}` : p.protocol;
  const lines = [
    `Policy trace: ${what} ${address(p.src, p.srcPort)} -> ${address(p.dst, p.dstPort)}`,
    `  from  ${who(t.source)}`,
    `  to    ${who(t.destination)}`,
  ];
  const decisive = t.directions.find((d) => d.verdict === "deny");
  lines.push(
    decisive
      ? `Verdict: DENY — ${decisive.direction} of ${decisive.endpoint.name}: ${decisive.reason}`
      : "Verdict: ALLOW",
  );
  for (const d of t.directions) lines.push("", ...direction(d));
  if (t.warnings.length > 0) lines.push("", ...t.warnings.map((w) => `Warning: ${w}`));
  return `${lines.join("\n")}\n`;
}
