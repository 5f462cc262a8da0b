/**
 * One node's BIRD 2 configuration (translated from Calico's BIRD 1
 * files): both families in one file, functions suffixed per family, filters in channel blocks,
 * the listen port per session. What it does is Calico's: export this node's blocks as aggregates
 * (and borrowed addresses inside pools), never other more-specifics of its own blocks nor
 * anything outside the pools; blackhole its own blocks; program no-encap pools' routes learned
 * over BGP into the kernel and leave IPIP/VXLAN ones to Felix.
 */
import type { Resource } from "../api/index.js";
import { type BgpInputs, type Family, type Session, spec } from "./model.js";
import { computeSessions, globalBgp, nodeInfo, type PrefixAdvertisement, routerId } from "./sessions.js";

interface PoolInfo {
  cidr: string;
  family: Family;
  encap: "none" | "ipip" | "vxlan";
  disableBGPExport: boolean;
}

function poolInfo(r: Resource): PoolInfo {
  const s = spec(r);
  const cidr = String(s.cidr ?? "");
  const ipip = s.ipipMode === "Always" || s.ipipMode === "CrossSubnet";
  const vxlan = s.vxlanMode === "Always" || s.vxlanMode === "CrossSubnet";
  return {
    cidr,
    family: cidr.includes(":") ? 6 : 4,
    encap: vxlan ? "vxlan" : ipip ? "ipip" : "none",
    disableBGPExport: s.disableBGPExport === true,
  };
}

const sfx = (f: Family) => `v${f}`;

function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `aa:nn` → `bgp_community.add((aa,nn))`; `aa:nn:mm` → the large-community form. */
function communityAdd(value: string): string {
  const parts = value.split(":");
  return parts.length === 3
    ? `bgp_large_community.add((${parts.join(",")}));`
    : `bgp_community.add((${parts.join(",")}));`;
}

function filters(
  family: Family,
  pools: PoolInfo[],
  blocks: string[],
  adverts: PrefixAdvertisement[],
): string[] {
  const v = sfx(family);
  const mine = pools.filter((p) => p.family === family).sort((a, b) => byKey(a.cidr, b.cidr));
  const own = blocks.filter((b) => b.includes(":") === (family === 6)).sort(byKey);
  const out: string[] = [];
  out.push(`# Communities from BGPConfiguration prefixAdvertisements; adds only, decides nothing.`);
  out.push(`function apply_communities_${v}() {`);
  for (const a of adverts)
    if (a.cidr.includes(":") === (family === 6) && a.communities.length > 0)
      out.push(`  if ( net ~ ${a.cidr} ) then { ${a.communities.map(communityAdd).join(" ")} }`);
  out.push("}");
  out.push(`# This node's blocks: the aggregate is exported, anything more specific inside them is not.`);
  out.push(`function calico_aggr_${v}() {`);
  for (const b of own)
    out.push(`  if ( net = ${b} ) then { accept; }`, `  if ( net ~ ${b} ) then { reject; }`);
  out.push("}");
  out.push(`function calico_export_${v}(bool internal_peer) {`);
  for (const p of mine) if (p.disableBGPExport) out.push(`  if ( net ~ ${p.cidr} ) then { reject; }`);
  out.push(`  if ( internal_peer && ifname ~ "*.cali" ) then { reject; }`);
  out.push(`  if ( internal_peer && ifname ~ "*.calico" ) then { reject; }`);
  out.push(`  if ( internal_peer && ifname = "tunl0" ) then { reject; }`);
  out.push(`  apply_communities_${v}();`);
  out.push(`  calico_aggr_${v}();`);
  for (const p of mine) if (!p.disableBGPExport) out.push(`  if ( net ~ ${p.cidr} ) then { accept; }`);
  out.push("}");
  out.push(`filter calico_kernel_${v} {`);
  // BIRD 1 never exported interface routes to the kernel; BIRD 2 would, duplicating connected routes.
  out.push("  if ( source = RTS_DEVICE ) then { reject; }");
  for (const p of mine) {
    if (p.encap === "vxlan") out.push(`  if ( net ~ ${p.cidr} ) then { reject; } # VXLAN routes are Felix's`);
    else if (p.encap === "ipip")
      out.push(`  if ( net ~ ${p.cidr} ) then { reject; } # IPIP routes are Felix's`);
    else out.push(`  if ( net ~ ${p.cidr} ) then { accept; }`);
  }
  out.push("  accept;", "}");
  return out;
}

function session(s: Session, localAs: string, listenPort: number | undefined): string[] {
  const ch = s.family === 4 ? "ipv4" : "ipv6";
  const v = sfx(s.family);
  const internal = (s.localAs ?? localAs) === s.asNumber;
  const lines = [`protocol bgp ${s.name} from bgp_template_${v} {`];
  const local = [s.sourceAddress, listenPort ? `port ${listenPort}` : undefined].filter((x) => x).join(" ");
  lines.push(`  local ${local ? `${local} ` : ""}as ${s.localAs ?? localAs};`);
  lines.push(`  neighbor ${s.ip}${s.port ? ` port ${s.port}` : ""} as ${s.asNumber};`);
  lines.push(
    s.ttlSecurity ? `  ttl security on; multihop ${s.ttlSecurity};` : "  ttl security off; multihop;",
  );
  if (s.keepaliveSeconds !== undefined) lines.push(`  keepalive time ${s.keepaliveSeconds};`);
  if (s.restartSeconds !== undefined) lines.push(`  graceful restart time ${s.restartSeconds};`);
  if (s.allowLocalAs !== undefined) lines.push(`  allow local as ${s.allowLocalAs};`);
  if (s.rrClient) lines.push("  rr client;", `  rr cluster id ${s.rrClusterId};`);
  const nextHop = s.nextHop ? ` next hop ${s.nextHop};` : "";
  lines.push(
    `  ${ch} { import all;${nextHop} export filter { calico_export_${v}(${internal}); reject; }; };`,
  );
  if (s.passive) lines.push("  passive on;");
  lines.push("}");
  return lines;
}

/** The whole `bird.cfg` for this node; deterministic, so an unchanged input renders byte-identically. */
export function renderBirdConfig(inputs: BgpInputs): string {
  const nodes = inputs.nodes.map(nodeInfo);
  const self = nodes.find((n) => n.name === inputs.nodeName);
  const g = globalBgp(inputs.configs, inputs.nodeName);
  const pools = inputs.pools.map(poolInfo).filter((p) => p.cidr !== "");
  const blocks = [...inputs.blocks].sort(byKey);
  const lines = [`# Generated by calico-ts for node ${inputs.nodeName}; changes are overwritten.`];
  if (!self) return `${lines.join("\n")}\n# This node has no Node resource yet: no BGP.\n`;
  const id = routerId(inputs, self);
  if (!id) return `${lines.join("\n")}\n# No IPv4 address or router ID for this node: no BGP.\n`;
  lines.push(`router id ${id};`, "");
  for (const f of [4, 6] as const) lines.push(...filters(f, pools, blocks, g.prefixAdvertisements), "");
  lines.push("protocol device { scan time 2; }");
  lines.push('protocol direct { interface -"cali*", -"kube-ipvs*", "*"; ipv4; ipv6; }');
  for (const f of [4, 6] as const) {
    const ch = f === 4 ? "ipv4" : "ipv6";
    lines.push(
      `protocol kernel kernel${f} { learn; persist; scan time 2; graceful restart; merge paths on;`,
      `  ${ch} { import all; export filter calico_kernel_${sfx(f)}; };`,
      "}",
    );
    const own = blocks.filter((b) => b.includes(":") === (f === 6) && !/\/(32|128)$/.test(b));
    if (own.length > 0)
      lines.push(
        `protocol static static${f} {`,
        `  ${ch};`,
        ...own.map((b) => `  route ${b} blackhole;`),
        "}",
      );
  }
  const localAs = self.asNumber ?? g.asNumber;
  const listenPort = g.nodeListenPorts.get(self.name) ?? g.listenPort;
  for (const f of [4, 6] as const) {
    const ip = f === 4 ? self.ipv4 : self.ipv6;
    if (!ip) {
      lines.push("", `# No IPv${f} address on this node: no IPv${f} BGP.`);
      continue;
    }
    const ch = f === 4 ? "ipv4" : "ipv6";
    lines.push(
      "",
      `template bgp bgp_template_${sfx(f)} {`,
      '  description "Connection to BGP peer";',
      `  ${ch} { gateway recursive; add paths on; };`,
      "  graceful restart;",
      // Calico waits 2 s / retries every 5 s; 1 s each brings a lab or a restarted node up faster.
      "  connect delay time 1;",
      "  connect retry time 1;",
      "  error wait time 5,30;",
      "}",
    );
    for (const s of computeSessions(inputs, f)) lines.push(...session(s, localAs, listenPort));
  }
  return `${lines.join("\n")}\n`;
}
