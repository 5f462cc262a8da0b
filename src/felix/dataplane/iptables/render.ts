/**
 * Felix's iptables filter-table layout for workload policy, rendered from the
 * same desired state as the nftables mode: kernel chains jump to `cali-INPUT`/`cali-FORWARD`/
 * `cali-OUTPUT`; workload traffic is dispatched by interface to `cali-tw-*`/`cali-fw-*`, which walk
 * tiers (`cali-pi-*`/`cali-po-*`) and profiles (`cali-pri-*`/`cali-pro-*`) using mark bits as
 * verdicts. Every rule carries Calico's `cali:<hash>` comment, its identity for reconciliation.
 */
import { createHash } from "node:crypto";
import type { HostEndpoint, WorkloadEndpoint } from "../../calc/messages.js";
import { ipsetName } from "../ipsets/ipsets.js";
import type { Family } from "../nft/model.js";
import { hashRules } from "../nft/rule-hash.js";
import {
  addEndpointRefs,
  type RenderCatalogue,
  renderCatalogue,
  sortedPolicyKeys,
} from "../rules/catalogue.js";
import type { RenderConfig } from "../rules/config.js";
import { groupChainBase, groupChainPlan, type PolicyGroup } from "../rules/groups.js";
import {
  type Dialect,
  filterHostRules,
  type HostChains,
  renderHostEndpointChains,
  resolveHostEndpoints,
} from "../rules/host-endpoints.js";
import { hex } from "../rules/marks.js";
import { GenerationCache, ObjectMemo, renderMemo } from "../rules/memo.js";
import type { Direction } from "../rules/names.js";
import { ALL_VXLAN_NET } from "../rules/names.js";
import {
  endOfTierPrefix,
  NFLOG_QUEUE_THRESHOLD,
  NFLOG_SNAPLEN,
  nflogGroup,
  noProfileMatchPrefix,
  ownerId,
  rulePrefix,
} from "../rules/nflog.js";
import {
  type EndpointPlan,
  endpointSignature,
  type PlannedTier,
  planEndpointChain,
  planGroups,
} from "../rules/plan.js";
import { logPrefix, policyOwner, type RuleOwner } from "../rules/policy.js";
import type { DesiredPolicyState } from "../state.js";
import { renderIptablesMatches } from "./match.js";

/** iptables limits chain names to 28 characters. */
const MAX_CHAIN = 28;
const SAFE = /^[A-Za-z0-9._/-]+$/;

export function iptChainName(prefix: string, suffix: string): string {
  const name = prefix + suffix;
  if (name.length <= MAX_CHAIN && SAFE.test(suffix)) return name;
  return (
    prefix +
    createHash("sha256")
      .update(suffix)
      .digest("base64url")
      .slice(0, MAX_CHAIN - prefix.length)
  );
}

export const IPT = {
  input: "cali-INPUT",
  forward: "cali-FORWARD",
  output: "cali-OUTPUT",
  wlToHost: "cali-wl-to-host",
  fromWl: "cali-from-wl-dispatch",
  toWl: "cali-to-wl-dispatch",
} as const;

export type IptTable = "raw" | "mangle" | "filter" | "nat";

/** Per table, kernel chain → the Calico chain its first rule jumps to. */
export const TABLE_HOOKS: Record<IptTable, ReadonlyArray<[string, string]>> = {
  filter: [
    ["INPUT", IPT.input],
    ["FORWARD", IPT.forward],
    ["OUTPUT", IPT.output],
  ],
  nat: [["POSTROUTING", "cali-POSTROUTING"]],
  raw: [
    ["PREROUTING", "cali-PREROUTING"],
    ["OUTPUT", "cali-OUTPUT"],
  ],
  mangle: [
    ["PREROUTING", "cali-PREROUTING"],
    ["POSTROUTING", "cali-POSTROUTING"],
  ],
};

export function poolSetId(which: "masq" | "all"): string {
  return `${which}-ipam-pools`;
}

/** NAT outgoing: from a masquerading pool to outside every pool. */
export function renderNatChains(family: Family, cfg: RenderConfig): IptChain[] {
  const action = cfg.natOutgoingAddress
    ? `-j SNAT --to-source ${cfg.natOutgoingAddress}`
    : "-j MASQUERADE --random-fully";
  return [
    chain("cali-POSTROUTING", ["-j cali-nat-outgoing"]),
    chain("cali-nat-outgoing", [
      `-m set --match-set ${ipsetName(family, poolSetId("masq"))} src -m set ! --match-set ${ipsetName(family, poolSetId("all"))} dst ${action}`,
    ]),
  ];
}

export interface IptRule {
  body: string;
  hash: string;
}

export interface IptChain {
  name: string;
  rules: IptRule[];
}

function chain(name: string, bodies: string[]): IptChain {
  return {
    name,
    rules: hashRules(
      name,
      bodies.map((body) => ({ body })),
    ).map((r) => ({ body: r.body, hash: r.hash })),
  };
}

const mark = (bits: number, set: boolean) => `-m mark --mark ${hex(set ? bits : 0)}/${hex(bits)}`;
const setMark = (bits: number) => `-j MARK --set-xmark ${hex(bits)}/${hex(bits)}`;
const clearMark = (bits: number) => `-j MARK --set-xmark ${hex(0)}/${hex(bits)}`;

function deny(cfg: RenderConfig): string {
  return cfg.denyAction === "reject" ? "-j REJECT" : "-j DROP";
}

function ifaceWildcards(cfg: RenderConfig, flag: "-i" | "-o", target: string): string[] {
  return cfg.interfacePrefixes.map((p) => `${flag} ${p}+ ${target}`);
}

const ICMPV6_TO_HOST = [130, 131, 132, 133, 135, 136];

/** With host endpoints (`hosts`) INPUT, OUTPUT and FORWARD also dispatch to their chains. */
/** VXLAN to this host only from the cluster's hosts. */
function vxlanInputRules(family: Family, cfg: RenderConfig): string[] {
  const udp = `-p udp -m udp --dport ${cfg.vxlanPort}`;
  return [
    `${udp} -m set --match-set ${ipsetName(family, ALL_VXLAN_NET)} src -m addrtype --dst-type LOCAL -j ACCEPT`,
    `${udp} -m addrtype --dst-type LOCAL -j DROP`,
  ];
}

function staticChains(family: Family, cfg: RenderConfig, hosts = false, vxlan = false): IptChain[] {
  const { marks } = cfg;
  const hep = hosts ? filterHostRules(cfg, iptablesDialect) : undefined;
  const bodies = (list: { body: string }[] | undefined) => (list ?? []).map((x) => x.body);
  const allBits = marks.accept | marks.pass | marks.scratch0 | marks.scratch1;
  const wlToHost: string[] = [];
  if (family === 6)
    for (const t of ICMPV6_TO_HOST) wlToHost.push(`-p 58 -m icmp6 --icmpv6-type ${t} -j ACCEPT`);
  wlToHost.push(`-j ${IPT.fromWl}`);
  const toHost = cfg.endpointToHostAction;
  wlToHost.push(toHost === "accept" ? "-j ACCEPT" : toHost === "return" ? "-j RETURN" : deny(cfg));
  return [
    chain(IPT.input, [
      ...(vxlan ? vxlanInputRules(family, cfg) : []),
      ...ifaceWildcards(cfg, "-i", `-g ${IPT.wlToHost}`),
      `${mark(marks.accept, true)} -j ACCEPT`,
      clearMark(allBits),
      ...bodies(hep?.input),
    ]),
    chain(IPT.forward, [
      clearMark(allBits & ~marks.accept),
      ...bodies(hep?.forwardHead),
      ...ifaceWildcards(cfg, "-i", `-j ${IPT.fromWl}`),
      ...ifaceWildcards(cfg, "-o", `-j ${IPT.toWl}`),
      ...bodies(hep?.forwardTail),
      `${mark(marks.accept, true)} -j ACCEPT`,
      // Tells mangle POSTROUTING the packet was forwarded, so host egress policy skips it.
      ...(hosts ? [setMark(marks.accept)] : []),
    ]),
    chain(IPT.output, [
      `${mark(marks.accept, true)} -j ACCEPT`,
      ...ifaceWildcards(cfg, "-o", "-j RETURN"),
      clearMark(allBits),
      ...bodies(hep?.output),
    ]),
    chain(IPT.wlToHost, wlToHost),
  ];
}

/** The NFLOG target naming a verdict (flow logs), as Calico spells it. */
function nflog(dir: Direction, prefix: string): string {
  return `-j NFLOG --nflog-group ${nflogGroup(dir)} --nflog-prefix "${prefix}" --nflog-size ${NFLOG_SNAPLEN} --nflog-threshold ${NFLOG_QUEUE_THRESHOLD}`;
}

/**
 * The first rule carries the rule's match; the rest follow unconditionally and read the mark.
 * With flow logs a marked verdict is NFLOGged between setting the mark and acting on it.
 */
function verdict(rule: { action: string }, cfg: RenderConfig, owner: RuleOwner, index: number): string[] {
  const { marks } = cfg;
  const dir = owner.direction;
  const logged = (action: "allow" | "deny" | "pass", bits: number): string[] =>
    cfg.flowLogs && dir
      ? [
          `${mark(bits, true)} ${nflog(
            dir,
            rulePrefix(
              action,
              owner.kind === "pro",
              dir,
              index,
              ownerId(owner.kind, owner.namespace, owner.name),
            ),
          )}`,
        ]
      : [];
  switch (rule.action) {
    case "allow":
      return [
        setMark(marks.accept),
        ...logged("allow", marks.accept),
        `${mark(marks.accept, true)} -j RETURN`,
      ];
    case "pass":
      return [setMark(marks.pass), ...logged("pass", marks.pass), `${mark(marks.pass, true)} -j RETURN`];
    case "deny":
      if (cfg.flowLogs && dir)
        return [setMark(marks.drop), ...logged("deny", marks.drop), `${mark(marks.drop, true)} ${deny(cfg)}`];
      return [deny(cfg)];
    default: {
      const limit =
        cfg.logActionRateLimit === undefined
          ? ""
          : `-m limit --limit ${cfg.logActionRateLimit} --limit-burst ${cfg.logActionRateLimitBurst} `;
      return [`${limit}-j LOG --log-prefix "${logPrefix(cfg.logPrefix, owner).slice(0, 28)} " --log-level 5`];
    }
  }
}

/** A policy's or profile's rules: a verdict sets a mark bit and returns; deny drops at once. */
function ruleList(
  rules: readonly Parameters<typeof renderIptablesMatches>[0][],
  family: Family,
  cfg: RenderConfig,
  owner: RuleOwner,
): string[] {
  const out: string[] = [];
  for (const [index, rule] of rules.entries()) {
    const [first, ...rest] = verdict(rule, cfg, owner, index);
    for (const match of renderIptablesMatches(rule, family)) {
      out.push([match, first].filter((x) => x).join(" "));
      // The verdict's return is unconditional on the match: the mark says whether it matched.
      out.push(...rest);
    }
  }
  return out;
}

export function policyChainName(dir: "inbound" | "outbound", key: string): string {
  return iptChainName(dir === "inbound" ? "cali-pi-" : "cali-po-", key);
}

export function profileChainName(dir: "inbound" | "outbound", name: string): string {
  return iptChainName(dir === "inbound" ? "cali-pri-" : "cali-pro-", name);
}

export function endpointChainName(dir: "inbound" | "outbound", iface: string): string {
  return iptChainName(dir === "inbound" ? "cali-tw-" : "cali-fw-", iface);
}

function tierRules(tier: PlannedTier, dir: "inbound" | "outbound", cfg: RenderConfig): string[] {
  const { marks } = cfg;
  const out = [clearMark(marks.pass)];
  for (const step of tier.steps) {
    if (step.kind === "group") {
      out.push(`${mark(marks.pass, false)} -j ${groupChainName(step.group)}`);
      out.push(`${mark(marks.accept, true)} -j RETURN`);
      continue;
    }
    const p = step.policy;
    if (!p.programmed) {
      out.push(`${mark(marks.pass, false)} ${deny(cfg)}`);
      continue;
    }
    out.push(`${mark(marks.pass, false)} -j ${policyChainName(dir, p.key)}`);
    out.push(`${mark(marks.accept, true)} -j RETURN`);
  }
  if (tier.dropAtEnd) {
    if (cfg.flowLogs) out.push(`${mark(marks.pass, false)} ${nflog(dir, endOfTierPrefix(dir, tier.name))}`);
    out.push(`${mark(marks.pass, false)} ${deny(cfg)}`);
  }
  return out;
}

/** `cali-gi-<id>` / `cali-go-<id>`: exactly 28 characters. */
export function groupChainName(group: PolicyGroup): string {
  return groupChainBase(group);
}

/** A shared policy group's jumps (rules/groups.ts). */
function groupRules(group: PolicyGroup, cfg: RenderConfig): string[] {
  const decided = cfg.marks.accept | cfg.marks.pass;
  const out: string[] = [];
  for (const { key, returnFirst } of groupChainPlan(group)) {
    const jump = `-j ${policyChainName(group.dir, key)}`;
    if (returnFirst) out.push(`-m mark ! --mark ${hex(0)}/${hex(decided)} -j RETURN`);
    out.push(out.length === 0 || returnFirst ? jump : `${mark(decided, false)} ${jump}`);
  }
  return out;
}

function endpointRules(plan: EndpointPlan, cfg: RenderConfig): string[] {
  const { marks } = cfg;
  const { dir } = plan;
  const out = ["-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"];
  if (cfg.conntrackInvalidCheck) out.push("-m conntrack --ctstate INVALID -j DROP");
  out.push(clearMark(marks.accept | marks.pass));
  if (dir === "outbound") {
    if (!cfg.allowVxlanFromWorkloads) out.push("-p 17 -m multiport --dports 4789 -j DROP");
    if (!cfg.allowIpipFromWorkloads) out.push("-p 4 -j DROP");
  }
  for (const tier of plan.tiers) out.push(...tierRules(tier, dir, cfg));
  for (const profile of plan.profiles) {
    if (!profile.programmed) {
      out.push(deny(cfg));
      continue;
    }
    out.push(`-j ${profileChainName(dir, profile.name)}`);
    out.push(`${mark(marks.accept, true)} -j RETURN`);
  }
  if (cfg.flowLogs) out.push(nflog(dir, noProfileMatchPrefix(dir)));
  out.push(deny(cfg));
  return out;
}

/** Rendered once per endpoint object and `endpointSignature` (rules/memo.ts). */
function memoEndpointChain(
  name: string,
  ep: WorkloadEndpoint,
  dir: "inbound" | "outbound",
  cfg: RenderConfig,
  known: RenderCatalogue,
): { chain: IptChain; groups: PolicyGroup[] } {
  const sig = endpointSignature(ep.tiers, ep.profileIds, dir, known);
  return renderMemo.get(cfg, ep, `ipt ${dir} ${name}`, sig, () => {
    const plan = planEndpointChain(ep.tiers, ep.profileIds, dir, known);
    return { chain: chain(name, endpointRules(plan, cfg)), groups: planGroups(plan) };
  });
}

/** Group chains are shared by every endpoint with the same policies; their name pins their rules. */
const groupChains = new GenerationCache<IptChain>();

/**
 * Calico's shallow prefix tree for workload dispatch: below the names' common
 * prefix, names are bucketed by their next character; a bucket of one is a rule in the root chain,
 * a bigger bucket gets its own chain `<root>-<char>` listing its names. A packet then meets at
 * most one rule per bucket at the root and one per name in its bucket, instead of one per
 * endpoint. A bucket too big for that is split the same way again, one character further.
 */
export function dispatchTree(
  root: string,
  ifaces: readonly string[],
  flag: "-i" | "-o",
  target: (iface: string) => string,
  unknown: string,
): IptChain[] {
  const out: IptChain[] = [];
  const sorted = [...ifaces].sort();
  const cut = commonPrefix(sorted).length;
  // `from` is where bucketing may start: a child's names all share its parent's bucket key.
  const build = (name: string, names: readonly string[], from: number, leaf: boolean) => {
    const rules: string[] = [];
    if (leaf) for (const n of names) rules.push(`${flag} ${n} -g ${target(n)}`);
    else {
      const at = Math.max(from, commonPrefix(names).length);
      const buckets = new Map<string, string[]>();
      for (const n of names) {
        const key = n.slice(0, at + 1);
        const list = buckets.get(key);
        if (list) list.push(n);
        else buckets.set(key, [n]);
      }
      for (const [key, list] of buckets) {
        const only = list.length === 1 ? list[0] : undefined;
        if (only !== undefined) {
          rules.push(`${flag} ${only} -g ${target(only)}`);
          continue;
        }
        const child = iptChainName(`${root}-`, key.slice(cut));
        rules.push(`${flag} ${key}+ -g ${child}`);
        build(child, list, key.length, list.length <= MAX_BUCKET);
      }
    }
    rules.push(unknown);
    out.push(chain(name, rules));
  };
  build(root, sorted, 0, false);
  return out;
}

/** A bucket with more names than this is split again instead of listed. */
const MAX_BUCKET = 16;

/** The names' common prefix, short of the shortest name so that every name has a next character. */
function commonPrefix(names: readonly string[]): string {
  const [first, ...rest] = names;
  if (first === undefined) return "";
  let len = first.length - 1;
  for (const n of rest) {
    let i = 0;
    while (i < len && i < n.length - 1 && n[i] === first[i]) i++;
    len = i;
  }
  return first.slice(0, Math.max(0, len));
}

/** iptables spelling of the host endpoint chains; each table has its own copy of a chain name. */
export const iptablesDialect: Dialect = {
  name: (_table, prefix, suffix) => (suffix === undefined ? prefix : iptChainName(prefix, suffix)),
  policy: (_table, dir, key) => policyChainName(dir, key),
  profile: (_table, dir, name) => profileChainName(dir, name),
  markIs: mark,
  setMark,
  clearMark,
  jump: (c) => `-j ${c}`,
  goto: (c) => `-g ${c}`,
  ret: "-j RETURN",
  accept: "-j ACCEPT",
  drop: "-j DROP",
  notrack: "-j CT --notrack",
  ctEstablished: "-m conntrack --ctstate RELATED,ESTABLISHED",
  ctInvalid: "-m conntrack --ctstate INVALID",
  ctDnat: "-m conntrack --ctstate DNAT",
  iif: (name) => `-i ${name.replace(/\*$/, "+")}`,
  oif: (name) => `-o ${name.replace(/\*$/, "+")}`,
  port: (proto, side, port) => `-p ${proto} -m multiport --${side === "sport" ? "sports" : "dports"} ${port}`,
  net: (_family, side, cidr) => `${side === "src" ? "-s" : "-d"} ${cidr}`,
};

function hostChains(
  state: DesiredPolicyState,
  family: Family,
  cfg: RenderConfig,
  hostEndpoints: ReadonlyMap<string, HostEndpoint>,
): HostChains {
  return renderHostEndpointChains(hostEndpoints, family, cfg, iptablesDialect, {
    hasPolicy: (key) => state.policies.has(key),
    hasProfile: (name) => state.profiles.has(name),
  });
}

/** Policy and profile chains per config, family and object. */
const objectChains = new ObjectMemo<IptChain[]>();

/** Which policy and profile chains a table needs. */
interface Wanted {
  policy(key: string): boolean;
  profile(name: string): boolean;
  /** Nothing at all: the caller can skip the walk over every policy. */
  none?: boolean;
}

function policyChains(
  state: DesiredPolicyState,
  family: Family,
  cfg: RenderConfig,
  wanted: Wanted,
  everywhere: boolean,
): IptChain[] {
  const chains: IptChain[] = [];
  // The raw and mangle tables want nothing without host endpoints: skip every policy.
  if (wanted.none && !everywhere) return chains;
  // A policy or profile object is replaced, never mutated, when it changes: render it once per
  // family and config.
  const policyMemo = objectChains.scope(cfg, `policy ${family}`);
  for (const key of sortedPolicyKeys(state, cfg)) {
    const entry = state.policies.get(key);
    if (!entry) continue;
    const { id, policy } = entry;
    if (!wanted.policy(key) && !(everywhere && policy.performanceHints.includes("AssumeNeededOnEveryNode")))
      continue;
    const rendered = policyMemo(policy, key, () => {
      const owner = policyOwner(id);
      return [
        chain(
          policyChainName("inbound", key),
          ruleList(policy.inboundRules, family, cfg, { ...owner, description: "", direction: "inbound" }),
        ),
        chain(
          policyChainName("outbound", key),
          ruleList(policy.outboundRules, family, cfg, { ...owner, description: "", direction: "outbound" }),
        ),
      ];
    });
    for (const c of rendered) chains.push(c);
  }
  const profileMemo = objectChains.scope(cfg, `profile ${family}`);
  for (const [name, profile] of [...state.profiles].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!wanted.profile(name)) continue;
    const owner = { kind: "pro", name, namespace: "", tier: "", description: "" };
    const rendered = profileMemo(profile, name, () => [
      chain(
        profileChainName("inbound", name),
        ruleList(profile.inboundRules, family, cfg, { ...owner, direction: "inbound" }),
      ),
      chain(
        profileChainName("outbound", name),
        ruleList(profile.outboundRules, family, cfg, { ...owner, direction: "outbound" }),
      ),
    ]);
    for (const c of rendered) chains.push(c);
  }
  return chains;
}

/**
 * Reject is only valid in the filter table; flow logs cover the filter table's verdicts. One
 * object per config, so the raw and mangle policy chains stay memoised between renders.
 */
const dropConfigs = new WeakMap<RenderConfig, RenderConfig>();
function dropConfig(cfg: RenderConfig): RenderConfig {
  let drop = dropConfigs.get(cfg);
  if (!drop) {
    drop = { ...cfg, denyAction: "drop", flowLogs: false };
    dropConfigs.set(cfg, drop);
  }
  return drop;
}

/**
 * The raw or mangle table's `cali-` chains for host endpoints (untracked and pre-DNAT policy,
 * egress policy for DNATed host traffic) with the policy chains they reach; none without host
 * endpoints, which removes Felix's hooks from those tables.
 */
export function renderHostTableChains(
  state: DesiredPolicyState,
  family: Family,
  cfg: RenderConfig,
  table: "raw" | "mangle",
  hostEndpoints: ReadonlyMap<string, HostEndpoint> = resolveHostEndpoints(state.hostEndpoints, new Map()),
): IptChain[] {
  const hep = hostChains(state, family, cfg, hostEndpoints);
  const chains = hep.chains
    .filter((c) => c.table === table)
    .map((c) =>
      chain(
        c.name,
        c.rules.map((x) => x.body),
      ),
    );
  const dropCfg = dropConfig(cfg);
  const policies = hep.policies[table];
  const profiles = hep.profiles[table];
  const wanted: Wanted = {
    policy: (key) => policies.has(key),
    profile: (name) => profiles.has(name),
    none: policies.size === 0 && profiles.size === 0,
  };
  chains.push(...policyChains(state, family, dropCfg, wanted, false));
  return chains;
}

/** What the local workloads contribute to the filter table: the same for every render until they change. */
interface WorkloadSection {
  /** Endpoint chains (each followed by the group chains it is first to jump to), then dispatch. */
  chains: IptChain[];
  /** Keys of the policies and names of the profiles the endpoints refer to. */
  policies: Set<string>;
  profiles: Set<string>;
}

/**
 * The workload endpoints' chains, the dispatch trees and the wanted policies. They read only the
 * workloads and, of the policies and profiles, what `catalogueVersion` covers, so while neither
 * counter moves the last result stands; otherwise each endpoint chain is still memoised on its own.
 */
function workloadSection(state: DesiredPolicyState, family: Family, cfg: RenderConfig): WorkloadSection {
  const versions = `${state.workloadsVersion} ${state.catalogueVersion}`;
  return renderMemo.get(cfg, state, `workloads ipt ${family}`, versions, () => {
    const out: WorkloadSection = { chains: [], policies: new Set(), profiles: new Set() };
    const ifaces: string[] = [];
    const known = renderCatalogue(state, cfg, "ipt");
    const groups = groupChains.begin(cfg, `ipt ${family}`);
    const groupNames = new Set<string>();
    for (const [iface, ep] of [...state.workloadsByInterface()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      ifaces.push(iface);
      for (const dir of ["inbound", "outbound"] as const) {
        const rendered = memoEndpointChain(endpointChainName(dir, iface), ep, dir, cfg, known);
        out.chains.push(rendered.chain);
        for (const g of rendered.groups) {
          const name = groupChainName(g);
          if (groupNames.has(name)) continue;
          groupNames.add(name);
          out.chains.push(groups.get(name, () => chain(name, groupRules(g, cfg))));
        }
      }
      addEndpointRefs(ep, out);
    }
    groups.done();
    known.done();
    const unknown = deny(cfg);
    out.chains.push(
      ...dispatchTree(IPT.fromWl, ifaces, "-i", (i) => endpointChainName("outbound", i), unknown),
      ...dispatchTree(IPT.toWl, ifaces, "-o", (i) => endpointChainName("inbound", i), unknown),
    );
    return out;
  });
}

/** Every `cali-` chain of the filter table for one family, in a stable order. */
export function renderFilterChains(
  state: DesiredPolicyState,
  family: Family,
  cfg: RenderConfig,
  hostEndpoints: ReadonlyMap<string, HostEndpoint> = resolveHostEndpoints(state.hostEndpoints, new Map()),
): IptChain[] {
  const chains = staticChains(family, cfg, hostEndpoints.size > 0, state.policesVxlan(family));
  const local = workloadSection(state, family, cfg);
  chains.push(...local.chains);
  const hep = hostChains(state, family, cfg, hostEndpoints);
  for (const c of hep.chains)
    if (c.table === "filter")
      chains.push(
        chain(
          c.name,
          c.rules.map((x) => x.body),
        ),
      );
  // The section's sets are kept for later renders: host endpoints' wants are asked beside them.
  const wanted = {
    policy: (key: string) => local.policies.has(key) || hep.policies.filter.has(key),
    profile: (name: string) => local.profiles.has(name) || hep.profiles.filter.has(name),
  };
  chains.push(...policyChains(state, family, cfg, wanted, true));
  return chains;
}

/** The jump a kernel chain's first rule makes, with its identity hash. */
export function hookRule(kernelChain: string, target: string): IptRule {
  const [rule] = hashRules(kernelChain, [{ body: `-j ${target}` }]);
  return { body: `-j ${target}`, hash: rule?.hash ?? "" };
}

export function ruleLine(chainName: string, rule: IptRule, verb: "-A" | "-I" = "-A"): string {
  return `${verb} ${chainName} -m comment --comment "cali:${rule.hash}" ${rule.body}`;
}
