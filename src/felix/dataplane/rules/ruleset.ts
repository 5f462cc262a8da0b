import type { HostEndpoint, IPSetType, WorkloadEndpoint } from "../../calc/messages.js";
import { setElements } from "../nft/elements.js";
import type { BaseChainHook, Family, NftChain, NftSet, NftTable, SetKind } from "../nft/model.js";
import { hashRules } from "../nft/rule-hash.js";
import type { DesiredPolicyState } from "../state.js";
import { addEndpointRefs, type RenderCatalogue, renderCatalogue, sortedPolicyKeys } from "./catalogue.js";
import type { RenderConfig } from "./config.js";
import { groupChain, renderGroupChain, renderPlannedEndpointChain } from "./endpoint.js";
import type { PolicyGroup } from "./groups.js";
import {
  filterHostRules,
  type HostTable,
  renderHostEndpointChains,
  resolveHostEndpoints,
} from "./host-endpoints.js";
import { markClear, markMatch, markSet } from "./marks.js";
import { GenerationCache, ObjectMemo, renderMemo } from "./memo.js";
import {
  allVxlanNetSet,
  chainNames as C,
  type Direction,
  endpointChain,
  ipSetName,
  natNames,
  policyChain,
  profileChain,
} from "./names.js";
import { nftDialect } from "./nft-dialect.js";
import { endpointSignature, planEndpointChain, planGroups } from "./plan.js";
import { policyOwner, type RuleBody, renderRuleList } from "./policy.js";

const SET_KIND: Record<IPSetType, SetKind> = { ip: "addr", net: "net", "ip,port": "addr-port" };

/** ICMPv6 a workload needs to reach its host for (MLD and neighbour/router discovery). */
const ICMPV6_TO_HOST = [130, 131, 132, 133, 135, 136];

function chain(name: string, rules: RuleBody[], base?: BaseChainHook): NftChain {
  return base ? { name, base, rules: hashRules(name, rules) } : { name, rules: hashRules(name, rules) };
}

function wildcards(cfg: RenderConfig, dir: "iifname" | "oifname"): string {
  const names = cfg.interfacePrefixes.map((p) => `"${p}*"`);
  return `${dir} ${names.length === 1 ? names[0] : `{ ${names.join(", ")} }`}`;
}

/** Base chains hooking the raw and mangle tables, present only while some host endpoint is. */
function hostBaseChains(): NftChain[] {
  const base = (table: string, hook: BaseChainHook["hook"], priority: number) =>
    chain(`${table}-${hook.toUpperCase()}`, [{ body: `jump ${table}-cali-${hook.toUpperCase()}` }], {
      type: "filter",
      hook,
      priority,
    });
  return [
    base("raw", "prerouting", -300),
    base("raw", "output", -300),
    base("mangle", "prerouting", -150),
    base("mangle", "postrouting", -150),
  ];
}

/**
 * Felix's filter chains; with host endpoints (`hosts`) INPUT, OUTPUT and FORWARD also dispatch to
 * them. Without any, those jumps are left out: they would find nothing to police.
 */
function staticChains(family: Family, cfg: RenderConfig, hosts = false, vxlan = false): NftChain[] {
  const { marks } = cfg;
  const hep = hosts ? filterHostRules(cfg, nftDialect) : undefined;
  const allBits = marks.accept | marks.pass | marks.scratch0 | marks.scratch1;
  const wlToHost: RuleBody[] = [];
  if (family === 6) wlToHost.push({ body: `icmpv6 type { ${ICMPV6_TO_HOST.join(", ")} } accept` });
  wlToHost.push({ body: `jump ${C.fromWlDispatch}` });
  wlToHost.push({ body: cfg.endpointToHostAction, note: "Configured DefaultEndpointToHostAction" });
  return [
    chain(C.input, [{ body: `jump ${C.caliInput}` }], { type: "filter", hook: "input", priority: 0 }),
    chain(
      C.forward,
      [
        { body: `jump ${C.caliForward}` },
        { body: `${markMatch(marks.accept, true)} accept`, note: "Policy explicitly accepted packet." },
        { body: markSet(marks.accept) },
      ],
      { type: "filter", hook: "forward", priority: 0 },
    ),
    chain(C.output, [{ body: `jump ${C.caliOutput}` }], { type: "filter", hook: "output", priority: 0 }),
    chain(C.caliInput, [
      ...(vxlan ? vxlanInputRules(family, cfg) : []),
      { body: `${wildcards(cfg, "iifname")} goto ${C.wlToHost}` },
      { body: `${markMatch(marks.accept, true)} accept` },
      { body: markClear(allBits) },
      ...(hep?.input ?? []),
    ]),
    chain(C.caliForward, [
      { body: markClear(allBits & ~marks.accept) },
      ...(hep?.forwardHead ?? []),
      { body: `${wildcards(cfg, "iifname")} jump ${C.fromWlDispatch}` },
      { body: `${wildcards(cfg, "oifname")} jump ${C.toWlDispatch}` },
      ...(hep?.forwardTail ?? []),
    ]),
    chain(C.caliOutput, [
      { body: `${markMatch(marks.accept, true)} accept` },
      { body: `${wildcards(cfg, "oifname")} return` },
      { body: markClear(allBits) },
      ...(hep?.output ?? []),
    ]),
    chain(C.wlToHost, wlToHost),
    chain(C.fromWlDispatch, [
      { body: `iifname vmap @${C.fromWlDispatch}` },
      { body: "drop", note: "Unknown interface" },
    ]),
    chain(C.toWlDispatch, [
      { body: `oifname vmap @${C.toWlDispatch}` },
      { body: "drop", note: "Unknown interface" },
    ]),
  ];
}

/** VXLAN to this host only from the cluster's hosts. */
function vxlanInputRules(family: Family, cfg: RenderConfig): RuleBody[] {
  const udp = `udp dport ${cfg.vxlanPort}`;
  return [
    {
      body: `${udp} ip saddr @${allVxlanNetSet(family)} fib daddr type local accept`,
      note: "Allow VXLAN packets from allowed hosts",
    },
    { body: `${udp} fib daddr type local drop`, note: "Drop VXLAN packets from non-allowed hosts" },
  ];
}

/**
 * A policy's or profile's two chains depend only on the object (replaced, never mutated, when it
 * changes), the family and the config, so they are rendered once and reused until then: a change
 * to one policy re-renders one policy, not a thousand.
 */
const objectChains = new ObjectMemo<NftChain[]>();

/**
 * An endpoint chain depends on the endpoint object, the direction, its name and what
 * `endpointSignature` covers (a missing chain renders as a drop; selectors decide the groups).
 */
function endpointChainFor(
  name: string,
  ep: WorkloadEndpoint,
  dir: Direction,
  cfg: RenderConfig,
  known: RenderCatalogue,
): { chain: NftChain; groups: PolicyGroup[] } {
  const sig = endpointSignature(ep.tiers, ep.profileIds, dir, known);
  return renderMemo.get(cfg, ep, `${dir} ${name}`, sig, () => {
    const plan = planEndpointChain(ep.tiers, ep.profileIds, dir, known);
    return { chain: chain(name, renderPlannedEndpointChain(plan, cfg)), groups: planGroups(plan) };
  });
}

/** Group chains are shared by every endpoint with the same policies; their name pins their rules. */
const groupChains = new GenerationCache<NftChain>();

/** What the local workloads contribute to a table: the same for every render until they change. */
interface WorkloadSection {
  /** Endpoint chains, each followed by the group chains it is first to jump to. */
  chains: NftChain[];
  fromMap: Map<string, string>;
  toMap: Map<string, string>;
  /** Keys of the policies and names of the profiles the endpoints refer to. */
  policies: Set<string>;
  profiles: Set<string>;
}

/**
 * The workload endpoints' chains, dispatch maps and wanted policies. They read only the
 * workloads and, of the policies and profiles, what `catalogueVersion` covers, so while neither
 * counter moves — a policy's rules changed, an IP set's members — the last result stands and a
 * change costs nothing per endpoint. Otherwise each endpoint chain is still memoised on its own.
 */
function workloadSection(state: DesiredPolicyState, family: Family, cfg: RenderConfig): WorkloadSection {
  const versions = `${state.workloadsVersion} ${state.catalogueVersion}`;
  return renderMemo.get(cfg, state, `workloads nft ${family}`, versions, () => {
    const known = renderCatalogue(state, cfg, "nft");
    const groups = groupChains.begin(cfg, `nft ${family}`);
    const out: WorkloadSection = {
      chains: [],
      fromMap: new Map(),
      toMap: new Map(),
      policies: new Set(),
      profiles: new Set(),
    };
    const groupNames = new Set<string>();
    for (const [iface, ep] of state.workloadsByInterface()) {
      const tw = endpointChain("inbound", iface);
      const fw = endpointChain("outbound", iface);
      for (const [name, dir] of [
        [tw, "inbound"],
        [fw, "outbound"],
      ] as const) {
        const rendered = endpointChainFor(name, ep, dir, cfg, known);
        out.chains.push(rendered.chain);
        for (const g of rendered.groups) {
          const groupName = groupChain(g);
          if (groupNames.has(groupName)) continue;
          groupNames.add(groupName);
          out.chains.push(groups.get(groupName, () => chain(groupName, renderGroupChain(g, cfg))));
        }
      }
      out.toMap.set(iface, `goto ${tw}`);
      out.fromMap.set(iface, `goto ${fw}`);
      addEndpointRefs(ep, out);
    }
    groups.done();
    known.done();
    return out;
  });
}

/** As in Calico, the NAT-outgoing chains exist only while some pool of the family asks for them. */
export function hasNatOutgoing(state: DesiredPolicyState, family: Family): boolean {
  return [...state.pools.values()].some((p) => p.masquerade && (p.cidr.includes(":") ? 6 : 4) === family);
}

/** The IP pools of one family, all of them and those with `natOutgoing`. */
function natSets(state: DesiredPolicyState, family: Family): NftSet[] {
  const pools = [...state.pools.values()].filter((p) => (p.cidr.includes(":") ? 6 : 4) === family);
  return [
    {
      name: natNames.masqPools(family),
      kind: "net",
      elements: setElements(
        "net",
        family,
        pools.filter((p) => p.masquerade).map((p) => p.cidr),
      ),
    },
    {
      name: natNames.allPools(family),
      kind: "net",
      elements: setElements(
        "net",
        family,
        pools.map((p) => p.cidr),
      ),
    },
  ];
}

/** Traffic from a NAT-outgoing pool to anywhere outside every pool leaves with the host's address. */
function natChains(family: Family, cfg: RenderConfig): NftChain[] {
  const ip = family === 4 ? "ip" : "ip6";
  const action = cfg.natOutgoingAddress ? `snat to ${cfg.natOutgoingAddress}` : "masquerade fully-random";
  return [
    chain(natNames.postrouting, [{ body: `jump ${natNames.natOutgoing}` }], {
      type: "nat",
      hook: "postrouting",
      priority: 100,
    }),
    chain(natNames.natOutgoing, [
      {
        body: `${ip} saddr @${natNames.masqPools(family)} ${ip} daddr != @${natNames.allPools(family)} ${action}`,
      },
    ]),
  ];
}

/**
 * The whole desired `table ip|ip6 <name>` for one family: Felix's nftables layout
 * restricted to workload policy: IP sets, base chains hooking input/forward/output, workload
 * dispatch through verdict maps, per-endpoint chains, and policy and profile chains.
 */
export function renderPolicyTable(
  state: DesiredPolicyState,
  family: Family,
  cfg: RenderConfig,
  hostEndpoints: ReadonlyMap<string, HostEndpoint> = resolveHostEndpoints(state.hostEndpoints, new Map()),
): NftTable {
  const sets = new Map<string, NftSet>();
  for (const [id, s] of [...state.ipSets].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const kind = SET_KIND[s.setType];
    const name = ipSetName(family, id);
    // Canonicalising thousands of members on every apply was much of a policy change's cost.
    const elements = renderMemo.get(cfg, s, `set ${family}`, "", () => setElements(kind, family, s.members));
    sets.set(name, { name, kind, elements });
  }

  const chains = new Map<string, NftChain>();
  const add = (c: NftChain) => chains.set(c.name, c);
  const hosts = hostEndpoints.size > 0;
  const vxlan = state.policesVxlan(family);
  for (const c of staticChains(family, cfg, hosts, vxlan)) add(c);
  if (vxlan) {
    const name = allVxlanNetSet(family);
    sets.set(name, {
      name,
      kind: "net",
      elements: setElements("net", family, new Set(state.vxlanHosts.values())),
    });
  }
  if (hosts) for (const c of hostBaseChains()) add(c);

  const local = workloadSection(state, family, cfg);
  for (const c of local.chains) add(c);

  const hep = renderHostEndpointChains(hostEndpoints, family, cfg, nftDialect, {
    hasPolicy: (key) => state.policies.has(key),
    hasProfile: (name) => state.profiles.has(name),
  });
  for (const c of hep.chains) add(chain(c.name, c.rules));
  // The section's sets are kept for later renders: host endpoints' wants are asked beside them.
  const wanted = {
    policy: (key: string) => local.policies.has(key) || hep.policies.filter.has(key),
    profile: (name: string) => local.profiles.has(name) || hep.profiles.filter.has(name),
  };
  for (const c of tablePolicyChains(state, family, cfg, "raw", hep)) add(c);
  for (const c of tablePolicyChains(state, family, cfg, "mangle", hep)) add(c);

  // Only chains some endpoint can reach are programmed, unless the policy
  // asks to be present everywhere.
  const policyChains = objectChains.scope(cfg, `policy ${family}`);
  for (const key of sortedPolicyKeys(state, cfg)) {
    const entry = state.policies.get(key);
    if (!entry) continue;
    const { id, policy } = entry;
    if (!wanted.policy(key) && !policy.performanceHints.includes("AssumeNeededOnEveryNode")) continue;
    for (const c of policyChains(policy, key, () => {
      const owner = policyOwner(id);
      return [
        chain(
          policyChain("inbound", key),
          renderRuleList(policy.inboundRules, family, cfg, {
            ...owner,
            description: `Policy ${key} ingress`,
            direction: "inbound",
          }),
        ),
        chain(
          policyChain("outbound", key),
          renderRuleList(policy.outboundRules, family, cfg, {
            ...owner,
            description: `Policy ${key} egress`,
            direction: "outbound",
          }),
        ),
      ];
    }))
      add(c);
  }
  const profileChains = objectChains.scope(cfg, `profile ${family}`);
  for (const [name, profile] of [...state.profiles].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!wanted.profile(name)) continue;
    const owner = { kind: "pro", name, namespace: "", tier: "" };
    for (const c of profileChains(profile, name, () => [
      chain(
        profileChain("inbound", name),
        renderRuleList(profile.inboundRules, family, cfg, {
          ...owner,
          description: `Profile ${name} ingress`,
          direction: "inbound",
        }),
      ),
      chain(
        profileChain("outbound", name),
        renderRuleList(profile.outboundRules, family, cfg, {
          ...owner,
          description: `Profile ${name} egress`,
          direction: "outbound",
        }),
      ),
    ]))
      add(c);
  }

  if (hasNatOutgoing(state, family)) {
    for (const s of natSets(state, family)) sets.set(s.name, s);
    for (const c of natChains(family, cfg)) add(c);
  }

  const maps = new Map([
    [C.fromWlDispatch, { name: C.fromWlDispatch, elements: local.fromMap }],
    [C.toWlDispatch, { name: C.toWlDispatch, elements: local.toMap }],
  ]);
  return { family, name: cfg.tableName, sets, maps, chains };
}

/**
 * Copies of the policy and profile chains a raw or mangle host endpoint chain jumps to. Deny is
 * always a drop there: reject is not allowed before routing.
 */
function tablePolicyChains(
  state: DesiredPolicyState,
  family: Family,
  cfg: RenderConfig,
  table: Exclude<HostTable, "filter">,
  hep: { policies: Record<HostTable, Set<string>>; profiles: Record<HostTable, Set<string>> },
): NftChain[] {
  const dropCfg: RenderConfig = { ...cfg, denyAction: "drop", flowLogs: false };
  const prefix = `${table}-`;
  const out: NftChain[] = [];
  for (const key of [...hep.policies[table]].sort()) {
    const entry = state.policies.get(key);
    if (!entry) continue;
    const { id, policy } = entry;
    const owner = policyOwner(id);
    for (const dir of ["inbound", "outbound"] as const) {
      const rules = dir === "inbound" ? policy.inboundRules : policy.outboundRules;
      const description = `Policy ${key} ${dir === "inbound" ? "ingress" : "egress"}`;
      out.push(
        chain(
          policyChain(dir, key, prefix),
          renderRuleList(rules, family, dropCfg, { ...owner, description }),
        ),
      );
    }
  }
  for (const name of [...hep.profiles[table]].sort()) {
    const profile = state.profiles.get(name);
    if (!profile) continue;
    const owner = { kind: "pro", name, namespace: "", tier: "" };
    for (const dir of ["inbound", "outbound"] as const) {
      const rules = dir === "inbound" ? profile.inboundRules : profile.outboundRules;
      const description = `Profile ${name} ${dir === "inbound" ? "ingress" : "egress"}`;
      out.push(
        chain(
          profileChain(dir, name, prefix),
          renderRuleList(rules, family, dropCfg, { ...owner, description }),
        ),
      );
    }
  }
  return out;
}
