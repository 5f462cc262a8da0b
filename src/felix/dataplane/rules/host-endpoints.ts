/**
 * Host endpoint policy, written once for both rule syntaxes: which host
 * endpoint owns which interface, and the chains of the raw, mangle and filter tables that police
 * traffic to, from and through the host. A `Dialect` supplies the nftables or iptables spelling of
 * each match and action; the chain layout and rule order are Calico's and live only here.
 */
import { type HostEndpoint, policyIdKey, type TierInfo } from "../../calc/messages.js";
import type { Family } from "../nft/model.js";
import type { RenderConfig } from "./config.js";
import type { FailsafePort } from "./failsafe.js";
import type { Direction } from "./names.js";
import { type ChainKind, planEndpointChain } from "./plan.js";
import type { RuleBody } from "./policy.js";

/** Calico's internal interface name for the `interfaceName: "*"` endpoint. */
export const ALL_INTERFACES = "any-interface-at-all";

export type HostTable = "raw" | "mangle" | "filter";

/**
 * Which endpoint polices each interface: an explicit `interfaceName` claims that interface, an
 * endpoint without one claims every interface holding one of its expected IPs, and the smallest
 * endpoint id wins a tie. The `*` endpoint (smallest id again) is keyed `ALL_INTERFACES` and
 * catches traffic on interfaces no other endpoint claims.
 */
export function resolveHostEndpoints(
  endpoints: ReadonlyMap<string, HostEndpoint>,
  hostAddrs: ReadonlyMap<string, ReadonlySet<string>>,
): Map<string, HostEndpoint> {
  const out = new Map<string, HostEndpoint>();
  const claim = (iface: string, ep: HostEndpoint) => {
    if (!out.has(iface)) out.set(iface, ep);
  };
  for (const [, ep] of [...endpoints].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (ep.name === "*") claim(ALL_INTERFACES, ep);
    else if (ep.name !== "") claim(ep.name, ep);
    else {
      const wanted = [...ep.expectedIpv4Addrs, ...ep.expectedIpv6Addrs];
      for (const [iface, addrs] of hostAddrs) if (wanted.some((ip) => addrs.has(ip))) claim(iface, ep);
    }
  }
  return out;
}

/** How one rule syntax spells the matches and actions the host endpoint chains use. */
export interface Dialect {
  /** The chain `prefix + suffix` in a logical table (nft prefixes the table; iptables hashes long names). */
  name(table: HostTable, prefix: string, suffix?: string): string;
  policy(table: HostTable, dir: Direction, key: string): string;
  profile(table: HostTable, dir: Direction, name: string): string;
  markIs(bits: number, set: boolean): string;
  setMark(bits: number): string;
  clearMark(bits: number): string;
  jump(chain: string): string;
  goto(chain: string): string;
  ret: string;
  accept: string;
  drop: string;
  notrack: string;
  ctEstablished: string;
  ctInvalid: string;
  /** The packet's connection was DNATed. */
  ctDnat: string;
  iif(name: string): string;
  oif(name: string): string;
  /** `proto` and one port, as destination or source port. */
  port(proto: number, side: "sport" | "dport", port: number): string;
  net(family: Family, side: "src" | "dst", cidr: string): string;
}

export interface HostChain {
  table: HostTable;
  name: string;
  rules: RuleBody[];
}

export interface HostChains {
  chains: HostChain[];
  /** Policy keys and profile names whose chains each table needs. */
  policies: Record<HostTable, Set<string>>;
  profiles: Record<HostTable, Set<string>>;
}

/** Whether a policy or profile chain exists, so a missing one fails closed. */
export interface Known {
  hasPolicy(key: string): boolean;
  hasProfile(name: string): boolean;
}

const PROTO: Record<FailsafePort["protocol"], number> = { tcp: 6, udp: 17, sctp: 132 };

function r(match: string, action: string, note?: string): RuleBody {
  const body = match === "" ? action : `${match} ${action}`;
  return note === undefined ? { body } : { body, note };
}

function familyOfNet(cidr: string): Family {
  return cidr.includes(":") ? 6 : 4;
}

/**
 * `cali-failsafe-in` / `-out`: inbound ports by destination port (restricted to a source net if
 * given), outbound by destination port towards a net. The raw table runs before conntrack, so it
 * also lets the other direction's replies through by source port.
 */
function failsafeChains(table: HostTable, family: Family, cfg: RenderConfig, d: Dialect): HostChain[] {
  const rules = (
    list: readonly FailsafePort[],
    portSide: "sport" | "dport",
    netSide: "src" | "dst",
  ): RuleBody[] =>
    list
      .filter((p) => p.net === undefined || familyOfNet(p.net) === family)
      .map((p) => {
        const m = [p.net ? d.net(family, netSide, p.net) : "", d.port(PROTO[p.protocol], portSide, p.port)];
        return r(m.filter((x) => x !== "").join(" "), d.accept);
      });
  const inbound = rules(cfg.failsafeInbound, "dport", "src");
  const outbound = rules(cfg.failsafeOutbound, "dport", "dst");
  if (table === "raw") {
    inbound.push(...rules(cfg.failsafeOutbound, "sport", "src"));
    outbound.push(...rules(cfg.failsafeInbound, "sport", "dst"));
  }
  return [
    { table, name: d.name(table, "cali-failsafe-in"), rules: inbound },
    { table, name: d.name(table, "cali-failsafe-out"), rules: outbound },
  ];
}

const ENDPOINT_PREFIX: Record<"normal" | "forward", Record<Direction, string>> = {
  normal: { inbound: "cali-fh-", outbound: "cali-th-" },
  forward: { inbound: "cali-fhfw-", outbound: "cali-thfw-" },
};

interface EndpointChainSpec {
  table: HostTable;
  kind: ChainKind;
  dir: Direction;
  /** Mangle allows by returning with the accept bit set, leaving the verdict to filter. */
  allowByReturn: boolean;
}

/**
 * One host endpoint chain in Calico's order: conntrack fast path (tracked
 * kinds), failsafe jump (not for forwarded traffic), clear verdict bits, tiers (untracked allows
 * are NOTRACKed; normal and forward tiers drop at their end unless their default is Pass), then
 * profiles and a final drop for normal chains; forwarded traffic no policy covers is allowed.
 */
function endpointChain(
  ep: HostEndpoint,
  spec: EndpointChainSpec,
  tiers: readonly TierInfo[],
  cfg: RenderConfig,
  d: Dialect,
  known: Known,
  out: HostChains,
): RuleBody[] {
  const { marks } = cfg;
  const { table, kind, dir } = spec;
  const rules: RuleBody[] = [];
  if (kind !== "untracked") {
    if (spec.allowByReturn) rules.push(r(d.ctEstablished, d.setMark(marks.accept)));
    rules.push(r(d.ctEstablished, spec.allowByReturn ? d.ret : d.accept));
    if (cfg.conntrackInvalidCheck) rules.push(r(d.ctInvalid, d.drop));
  }
  if (kind !== "forward")
    rules.push(r("", d.jump(d.name(table, dir === "inbound" ? "cali-failsafe-in" : "cali-failsafe-out"))));
  rules.push(r("", d.clearMark(marks.accept | marks.pass)));
  const plan = planEndpointChain(
    tiers,
    ep.profileIds,
    dir,
    {
      hasPolicy: (id) => known.hasPolicy(policyIdKey(id)),
      hasProfile: (name) => known.hasProfile(name),
    },
    kind,
  );
  for (const tier of plan.tiers) {
    rules.push(r("", d.clearMark(marks.pass), `Start of tier ${tier.name}`));
    for (const { key, programmed } of tier.policies) {
      if (!programmed) {
        rules.push(r(d.markIs(marks.pass, false), d.drop, `Policy ${key} is not programmed`));
        continue;
      }
      out.policies[table].add(key);
      rules.push(r(d.markIs(marks.pass, false), d.jump(d.policy(table, dir, key))));
      if (kind === "untracked") rules.push(r(d.markIs(marks.accept, true), d.notrack));
      rules.push(r(d.markIs(marks.accept, true), d.ret, "Return if policy accepted"));
    }
    if (tier.dropAtEnd)
      rules.push(
        r(d.markIs(marks.pass, false), d.drop, `End of tier ${tier.name}. Drop if no policies passed packet`),
      );
  }
  if (plan.fallthrough === "allow") {
    rules.push(r("", d.setMark(marks.accept), "Allow forwarded traffic by default"));
    rules.push(r("", d.ret, "Return for accepted forward traffic"));
  }
  for (const profile of plan.profiles) {
    if (!profile.programmed) {
      rules.push(r("", d.drop, `Profile ${profile.name} is not programmed`));
      continue;
    }
    out.profiles[table].add(profile.name);
    rules.push(r("", d.jump(d.profile(table, dir, profile.name))));
    rules.push(r(d.markIs(marks.accept, true), d.ret, "Return if profile accepted"));
  }
  if (plan.fallthrough === "drop") rules.push(r("", d.drop, "Drop if no profiles matched"));
  return rules;
}

/**
 * A dispatch chain: each named interface goes to its endpoint's chain; the `*` endpoint, if any,
 * takes the rest (traffic to local workloads excepted where `skipWorkloads`). Interfaces no
 * endpoint claims fall through: host endpoints never drop unknown interfaces.
 */
function dispatch(
  ifaces: readonly string[],
  dir: Direction,
  target: (iface: string) => string,
  cfg: RenderConfig,
  d: Dialect,
  skipWorkloads: boolean,
): RuleBody[] {
  const match = dir === "inbound" ? d.iif : d.oif;
  const rules = ifaces.filter((i) => i !== ALL_INTERFACES).map((i) => r(match(i), d.goto(target(i))));
  if (ifaces.includes(ALL_INTERFACES)) {
    if (skipWorkloads)
      for (const p of cfg.interfacePrefixes)
        rules.push(r(d.oif(`${p}*`), d.ret, "Skip egress WHEP policy for traffic to local workload"));
    rules.push(r("", d.goto(target(ALL_INTERFACES))));
  }
  return rules;
}

/**
 * Every host-endpoint chain of the three tables for one family: per-interface endpoint chains,
 * dispatch chains, failsafe chains and the raw/mangle hook chains (`cali-PREROUTING`, `cali-OUTPUT`,
 * `cali-POSTROUTING`). The filter table's INPUT/FORWARD/OUTPUT jumps into its dispatch chains are
 * the caller's (see `filterHostRules`). Empty when no endpoint is resolved.
 */
export function renderHostEndpointChains(
  resolved: ReadonlyMap<string, HostEndpoint>,
  family: Family,
  cfg: RenderConfig,
  d: Dialect,
  known: Known,
): HostChains {
  const out: HostChains = {
    chains: [],
    policies: { raw: new Set(), mangle: new Set(), filter: new Set() },
    profiles: { raw: new Set(), mangle: new Set(), filter: new Set() },
  };
  if (resolved.size === 0) return out;
  const { marks } = cfg;
  const allBits = marks.accept | marks.pass | marks.scratch0 | marks.scratch1;
  const ifaces = [...resolved.keys()].sort();
  // Untracked policy is ignored on the `*` endpoint, as in Calico.
  const untracked = ifaces.filter((i) => i !== ALL_INTERFACES && resolved.get(i)!.untrackedTiers.length > 0);
  const preDnat = ifaces.filter((i) => resolved.get(i)!.preDnatTiers.length > 0);
  const add = (table: HostTable, name: string, rules: RuleBody[]) => out.chains.push({ table, name, rules });
  const endpoint = (table: HostTable, prefix: string) => (iface: string) => d.name(table, prefix, iface);

  for (const table of ["raw", "mangle", "filter"] as const)
    for (const c of failsafeChains(table, family, cfg, d)) out.chains.push(c);

  // filter: traffic to and from the host itself, and forwarded through its interfaces.
  for (const iface of ifaces) {
    const ep = resolved.get(iface)!;
    for (const kind of ["normal", "forward"] as const)
      for (const dir of ["inbound", "outbound"] as const) {
        const spec = { table: "filter" as const, kind, dir, allowByReturn: false };
        const tiers = kind === "normal" ? ep.tiers : ep.forwardTiers;
        add(
          "filter",
          d.name("filter", ENDPOINT_PREFIX[kind][dir], iface),
          endpointChain(ep, spec, tiers, cfg, d, known, out),
        );
      }
  }
  add(
    "filter",
    d.name("filter", "cali-from-host-endpoint"),
    dispatch(ifaces, "inbound", endpoint("filter", "cali-fh-"), cfg, d, false),
  );
  add(
    "filter",
    d.name("filter", "cali-to-host-endpoint"),
    dispatch(ifaces, "outbound", endpoint("filter", "cali-th-"), cfg, d, false),
  );
  add(
    "filter",
    d.name("filter", "cali-from-hep-forward"),
    dispatch(ifaces, "inbound", endpoint("filter", "cali-fhfw-"), cfg, d, false),
  );
  add(
    "filter",
    d.name("filter", "cali-to-hep-forward"),
    dispatch(ifaces, "outbound", endpoint("filter", "cali-thfw-"), cfg, d, false),
  );

  // mangle: pre-DNAT ingress policy, and egress policy for host traffic that was DNATed.
  for (const iface of preDnat) {
    const ep = resolved.get(iface)!;
    const spec = {
      table: "mangle" as const,
      kind: "preDnat" as const,
      dir: "inbound" as const,
      allowByReturn: false,
    };
    add(
      "mangle",
      d.name("mangle", "cali-fh-", iface),
      endpointChain(ep, spec, ep.preDnatTiers, cfg, d, known, out),
    );
  }
  for (const iface of ifaces) {
    const ep = resolved.get(iface)!;
    const spec = {
      table: "mangle" as const,
      kind: "normal" as const,
      dir: "outbound" as const,
      allowByReturn: true,
    };
    add("mangle", d.name("mangle", "cali-th-", iface), endpointChain(ep, spec, ep.tiers, cfg, d, known, out));
  }
  add(
    "mangle",
    d.name("mangle", "cali-from-host-endpoint"),
    dispatch(preDnat, "inbound", endpoint("mangle", "cali-fh-"), cfg, d, false),
  );
  add(
    "mangle",
    d.name("mangle", "cali-to-host-endpoint"),
    dispatch(ifaces, "outbound", endpoint("mangle", "cali-th-"), cfg, d, true),
  );
  add("mangle", d.name("mangle", "cali-PREROUTING"), [
    r(d.ctEstablished, d.accept),
    r(d.markIs(marks.accept, true), d.accept),
    r("", d.jump(d.name("mangle", "cali-from-host-endpoint"))),
    r(d.markIs(marks.accept, true), d.accept, "Host endpoint policy accepted packet."),
  ]);
  add("mangle", d.name("mangle", "cali-POSTROUTING"), [
    r(d.markIs(marks.accept, true), d.ret),
    r("", d.clearMark(allBits)),
    r(d.ctDnat, d.jump(d.name("mangle", "cali-to-host-endpoint"))),
    r(d.markIs(marks.accept, true), d.ret, "Host endpoint policy accepted packet."),
  ]);

  // raw: untracked (doNotTrack) policy, before conntrack sees the packet.
  for (const iface of untracked) {
    const ep = resolved.get(iface)!;
    for (const dir of ["inbound", "outbound"] as const) {
      const spec = { table: "raw" as const, kind: "untracked" as const, dir, allowByReturn: false };
      const prefix = dir === "inbound" ? "cali-fh-" : "cali-th-";
      add(
        "raw",
        d.name("raw", prefix, iface),
        endpointChain(ep, spec, ep.untrackedTiers, cfg, d, known, out),
      );
    }
  }
  add(
    "raw",
    d.name("raw", "cali-from-host-endpoint"),
    dispatch(untracked, "inbound", endpoint("raw", "cali-fh-"), cfg, d, false),
  );
  add(
    "raw",
    d.name("raw", "cali-to-host-endpoint"),
    dispatch(untracked, "outbound", endpoint("raw", "cali-th-"), cfg, d, false),
  );
  add("raw", d.name("raw", "cali-PREROUTING"), [
    r("", d.clearMark(allBits)),
    ...cfg.interfacePrefixes.map((p) => r(d.iif(`${p}*`), d.setMark(marks.scratch0))),
    r(d.markIs(marks.scratch0, false), d.jump(d.name("raw", "cali-from-host-endpoint"))),
    r(d.markIs(marks.accept, true), d.accept),
  ]);
  add("raw", d.name("raw", "cali-OUTPUT"), [
    r("", d.clearMark(allBits)),
    r("", d.jump(d.name("raw", "cali-to-host-endpoint"))),
    r(d.markIs(marks.accept, true), d.accept),
  ]);
  return out;
}

/** The filter rules that hand host traffic to the host endpoint dispatch chains. */
export function filterHostRules(
  cfg: RenderConfig,
  d: Dialect,
): Record<"input" | "output" | "forwardHead" | "forwardTail", RuleBody[]> {
  const { marks } = cfg;
  return {
    input: [
      r("", d.jump(d.name("filter", "cali-from-host-endpoint"))),
      r(d.markIs(marks.accept, true), d.accept, "Host endpoint policy accepted packet."),
    ],
    // DNATed host traffic is judged in mangle POSTROUTING, once its route is known. Written as an
    // early return rather than "not DNAT": nft cannot read the status of an untracked or invalid
    // packet, and such a packet must still meet the egress policy.
    output: [
      r(d.ctDnat, d.ret),
      r("", d.jump(d.name("filter", "cali-to-host-endpoint"))),
      r(d.markIs(marks.accept, true), d.accept, "Host endpoint policy accepted packet."),
    ],
    // A raw or pre-DNAT allow already decided forwarded ingress.
    forwardHead: [r(d.markIs(marks.accept, false), d.jump(d.name("filter", "cali-from-hep-forward")))],
    forwardTail: [r("", d.jump(d.name("filter", "cali-to-hep-forward")))],
  };
}
