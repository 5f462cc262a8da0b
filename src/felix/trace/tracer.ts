/**
 * The policy trace: for a source, a destination and a packet, which chains police it and what
 * each does with it. Each host's view is computed by Felix's own pipeline — the calculation graph
 * for that hostname, folded into the dataplane's desired state — and each endpoint chain is
 * walked through the same plan the rule renderers spell, with the same converted rules and IP set
 * members. Nothing here re-reads policy YAML to decide.
 */
import type {
  HostEndpoint as HostEndpointResource,
  Profile,
  Rule as ResourceRule,
  WorkloadEndpoint as WorkloadEndpointResource,
} from "../../api/index.js";
import { cidrContainsIP, type IPFamily, parseCIDR, parseIP } from "../../lib/net.js";
import { CalcGraph, type CalcUpdate, policyIdKey, type Rule, workloadEndpointIdKey } from "../calc/index.js";
import { hostEndpointToModel, workloadEndpointToModel } from "../calc/model/resources.js";
import { renderConfigFromFelix } from "../daemon/dataplane.js";
import type { RenderConfig } from "../dataplane/rules/config.js";
import type { FailsafePort } from "../dataplane/rules/failsafe.js";
import { ALL_INTERFACES } from "../dataplane/rules/host-endpoints.js";
import { type Direction, endpointChain } from "../dataplane/rules/names.js";
import { nftDialect } from "../dataplane/rules/nft-dialect.js";
import { type ChainCatalogue, planEndpointChain } from "../dataplane/rules/plan.js";
import { DesiredPolicyState } from "../dataplane/state.js";
import {
  PORT_PROTOCOLS,
  parsePortNumber,
  parseProtocol,
  protocolName,
  TraceInputError,
  type TracePacket,
} from "./packet.js";
import { describeRule } from "./rule-text.js";
import { type RuleSource, type TraceStep, type Verdict, walkPlan } from "./walk.js";

export interface TraceRequest {
  /** `NAMESPACE/POD`, `hostendpoint/NAME`, or an IP address. */
  source: string;
  destination: string;
  /** Default `tcp`. */
  protocol?: string;
  /** Destination port: required for TCP, UDP, SCTP and UDP-Lite. */
  port?: number | string;
  /** Default 40000 (any ephemeral port). */
  sourcePort?: number | string;
  icmpType?: number;
  icmpCode?: number;
}

export interface TraceEndpoint {
  /** As given. */
  ref: string;
  kind: "workload" | "host" | "ip";
  /** `NAMESPACE/POD`, the host endpoint's name, or the address. */
  name: string;
  node?: string;
  /** The address the trace uses. */
  ip: string;
  /** The host-side interface (workloads) or the protected interface (host endpoints). */
  iface?: string;
}

export interface DirectionTrace {
  direction: "egress" | "ingress";
  endpoint: TraceEndpoint;
  /** False when no Calico chain polices this side: the step list is then empty. */
  policed: boolean;
  /** The nftables chain walked, e.g. `filter-cali-fw-calia1b2c3`. */
  chain?: string;
  steps: TraceStep[];
  verdict: Verdict;
  reason: string;
}

export interface TraceResult {
  source: TraceEndpoint;
  destination: TraceEndpoint;
  packet: {
    family: IPFamily;
    protocol: string;
    src: string;
    dst: string;
    srcPort?: number;
    dstPort?: number;
    icmp?: { type: number; code: number };
  };
  verdict: Verdict;
  /** Egress of the source, then ingress of the destination. */
  directions: DirectionTrace[];
  /** What the trace could not account for on this path. */
  warnings: string[];
}

interface HostView {
  state: DesiredPolicyState;
  cfg: RenderConfig;
}

interface Endpoint extends TraceEndpoint {
  ips: string[];
  /** Identity in the dataplane state: workload id key, or host endpoint id. */
  stateKey?: string;
}

const WORKLOAD_KINDS = new Set(["WorkloadEndpoint"]);

function policyKeyOf(kind: string, res: { metadata: { name: string; namespace?: string } }): string {
  return kind === "GlobalNetworkPolicy"
    ? `gnp/${res.metadata.name}`
    : `np/${res.metadata.namespace ?? ""}/${res.metadata.name}`;
}

function familyOf(ip: string): IPFamily {
  return ip.includes(":") ? 6 : 4;
}

function hostIp(net: string): string {
  return net.split("/")[0] ?? net;
}

export class PolicyTracer {
  readonly #updates: readonly CalcUpdate[];
  readonly #workloads: WorkloadEndpointResource[] = [];
  readonly #hosts: HostEndpointResource[] = [];
  readonly #policyRules = new Map<string, { ingress: ResourceRule[]; egress: ResourceRule[] }>();
  readonly #profileRules = new Map<string, { ingress: ResourceRule[]; egress: ResourceRule[] }>();
  readonly #views = new Map<string, HostView>();

  constructor(updates: readonly CalcUpdate[]) {
    this.#updates = updates;
    for (const u of updates) {
      const res = u.value as {
        metadata?: { name: string; namespace?: string };
        spec?: Record<string, unknown>;
      };
      if (!res?.metadata) continue;
      if (WORKLOAD_KINDS.has(u.kind)) this.#workloads.push(u.value as WorkloadEndpointResource);
      else if (u.kind === "HostEndpoint") this.#hosts.push(u.value as HostEndpointResource);
      else if (u.kind === "GlobalNetworkPolicy" || u.kind === "NetworkPolicy") {
        const spec = (res.spec ?? {}) as { ingress?: ResourceRule[]; egress?: ResourceRule[] };
        this.#policyRules.set(policyKeyOf(u.kind, res as { metadata: { name: string } }), {
          ingress: spec.ingress ?? [],
          egress: spec.egress ?? [],
        });
      } else if (u.kind === "Profile") {
        const spec = ((u.value as Profile).spec ?? {}) as {
          ingress?: ResourceRule[];
          egress?: ResourceRule[];
        };
        this.#profileRules.set(res.metadata.name, { ingress: spec.ingress ?? [], egress: spec.egress ?? [] });
      }
    }
  }

  /** Felix's view from one host: its calculation graph's output, as the dataplane folds it. */
  #view(node: string): HostView {
    let view = this.#views.get(node);
    if (view) return view;
    const graph = new CalcGraph({ hostname: node });
    graph.onUpdates(this.#updates);
    graph.onStatus("InSync");
    const state = new DesiredPolicyState();
    let config: Record<string, string> = {};
    for (const msg of graph.flush()) {
      if (msg.type === "ConfigUpdate") config = msg.config;
      else state.onUpdate(msg);
    }
    view = { state, cfg: renderConfigFromFelix(config) };
    this.#views.set(node, view);
    return view;
  }

  #resolve(ref: string): Endpoint {
    const text = ref.trim();
    if (text.startsWith("hostendpoint/")) {
      const name = text.slice("hostendpoint/".length);
      const res = this.#hosts.find((h) => h.metadata.name === name);
      if (!res) throw new TraceInputError(`no host endpoint named '${name}'`);
      return this.#hostEndpoint(text, res);
    }
    const ip = parseIP(text);
    if (ip) {
      for (const res of this.#workloads) {
        const nets = res.spec?.ipNetworks ?? [];
        if (nets.some((n) => sameHost(n, text))) return this.#workload(text, res);
      }
      for (const res of this.#hosts)
        if ((res.spec?.expectedIPs ?? []).some((a) => sameHost(a, text)))
          return this.#hostEndpoint(text, res);
      return { ref: text, kind: "ip", name: text, ip: text, ips: [text] };
    }
    const parts = text.split("/");
    if (parts.length === 2 && parts[0] && parts[1]) {
      const [ns, pod] = parts;
      const res = this.#workloads.find(
        (w) => w.metadata.namespace === ns && (w.spec?.pod === pod || w.spec?.workload === pod),
      );
      if (!res) throw new TraceInputError(`no workload endpoint for pod '${text}'`);
      return this.#workload(text, res);
    }
    throw new TraceInputError(`'${ref}' is not NAMESPACE/POD, hostendpoint/NAME or an IP address`);
  }

  #workload(ref: string, res: WorkloadEndpointResource): Endpoint {
    const model = workloadEndpointToModel(res);
    if (!model) throw new TraceInputError(`workload endpoint ${res.metadata.name} has no addresses yet`);
    const ips = (res.spec?.ipNetworks ?? []).map(hostIp);
    return {
      ref,
      kind: "workload",
      name: `${res.metadata.namespace ?? ""}/${res.spec?.pod || res.spec?.workload || res.metadata.name}`,
      node: model.hostname,
      ip: ips[0] ?? "",
      ips,
      iface: model.iface,
      stateKey: workloadEndpointIdKey(model.id),
    };
  }

  #hostEndpoint(ref: string, res: HostEndpointResource): Endpoint {
    const model = hostEndpointToModel(res);
    const ips = [...model.expectedIpv4, ...model.expectedIpv6];
    const ep: Endpoint = {
      ref,
      kind: "host",
      name: res.metadata.name ?? "",
      node: model.hostname,
      ip: ips[0] ?? "",
      ips,
      stateKey: model.endpointId,
    };
    if (model.iface) ep.iface = model.iface;
    return ep;
  }

  #packet(src: Endpoint, dst: Endpoint, req: TraceRequest): TracePacket {
    const protocol = parseProtocol(req.protocol ?? "tcp");
    const family =
      dst.ips.length > 0
        ? familyOf(dst.ips.find((a) => src.ips.some((b) => familyOf(b) === familyOf(a))) ?? dst.ips[0]!)
        : 4;
    const pick = (e: Endpoint) => {
      const ip = e.ips.find((a) => familyOf(a) === family);
      if (!ip)
        throw new TraceInputError(
          `${e.ref} has no IPv${family} address${e.ips.length === 0 ? " (a host endpoint needs expectedIPs)" : ""}`,
        );
      return ip;
    };
    const pkt: TracePacket = { family, protocol, src: pick(src), dst: pick(dst) };
    if (PORT_PROTOCOLS.has(protocol)) {
      if (req.port === undefined)
        throw new TraceInputError(`--port is required for ${protocolName(protocol)}`);
      pkt.dstPort = parsePortNumber("port", req.port);
      pkt.srcPort = parsePortNumber("source port", req.sourcePort ?? 40000);
    } else if (req.port !== undefined) {
      throw new TraceInputError(`protocol ${protocolName(protocol)} has no ports: leave out --port`);
    }
    const icmpProto = family === 4 ? 1 : 58;
    if (protocol === 1 || protocol === 58) {
      if (protocol !== icmpProto)
        throw new TraceInputError(`protocol ${protocolName(protocol)} does not fit IPv${family} addresses`);
      const type = req.icmpType ?? (family === 4 ? 8 : 128);
      const code = req.icmpCode ?? 0;
      if (
        !Number.isInteger(type) ||
        type < 0 ||
        type > 255 ||
        !Number.isInteger(code) ||
        code < 0 ||
        code > 255
      )
        throw new TraceInputError("ICMP type and code must be whole numbers 0-255");
      pkt.icmp = { type, code };
    }
    return pkt;
  }

  #source(view: HostView): RuleSource {
    const { state } = view;
    const pick = (d: Direction) => (d === "inbound" ? "inboundRules" : "outboundRules");
    return {
      policyRules: (key, dir): readonly Rule[] | undefined => state.policies.get(key)?.policy[pick(dir)],
      profileRules: (name, dir): readonly Rule[] | undefined => state.profiles.get(name)?.[pick(dir)],
      ruleText: (owner, dir, index) => {
        const entry =
          "policy" in owner ? this.#policyRules.get(owner.policy) : this.#profileRules.get(owner.profile);
        const rule = entry?.[dir === "inbound" ? "ingress" : "egress"][index];
        return rule ? describeRule(rule) : "";
      },
    };
  }

  trace(req: TraceRequest): TraceResult {
    const src = this.#resolve(req.source);
    const dst = this.#resolve(req.destination);
    const pkt = this.#packet(src, dst, req);
    const warnings: string[] = [];
    const egress = this.#egress(src, dst, pkt, warnings);
    const ingress = this.#ingress(src, dst, pkt, warnings);
    const packet: TraceResult["packet"] = {
      family: pkt.family,
      protocol: protocolName(pkt.protocol),
      src: pkt.src,
      dst: pkt.dst,
    };
    if (pkt.srcPort !== undefined) packet.srcPort = pkt.srcPort;
    if (pkt.dstPort !== undefined) packet.dstPort = pkt.dstPort;
    if (pkt.icmp) packet.icmp = pkt.icmp;
    return {
      source: publicEndpoint(src),
      destination: publicEndpoint(dst),
      packet,
      verdict: egress.verdict === "allow" && ingress.verdict === "allow" ? "allow" : "deny",
      directions: [egress, ingress],
      warnings,
    };
  }

  #egress(src: Endpoint, dst: Endpoint, pkt: TracePacket, warnings: string[]): DirectionTrace {
    const base = { direction: "egress" as const, endpoint: publicEndpoint(src) };
    if (src.kind === "ip")
      return {
        ...base,
        policed: false,
        steps: [],
        verdict: "allow",
        reason: "not a Calico endpoint: no egress policy",
      };
    const view = this.#view(src.node!);
    this.#warnUnevaluated(src.node!, view, warnings);
    if (src.kind === "workload") {
      const ep = view.state.workloads.get(src.stateKey!);
      if (!ep) throw new TraceInputError(`workload ${src.name} is not active on node ${src.node}`);
      const chain = endpointChain("outbound", ep.name);
      const early = workloadEgressDrops(pkt, view.cfg);
      if (early)
        return { ...base, policed: true, chain, steps: [early], verdict: "deny", reason: early.note! };
      const plan = planEndpointChain(ep.tiers, ep.profileIds, "outbound", catalogue(view.state));
      const walked = walkPlan(plan, pkt, view.state.ipSets, this.#source(view));
      return { ...base, policed: true, chain, ...final(walked) };
    }
    if (dst.kind === "workload" && dst.node === src.node)
      return {
        ...base,
        policed: false,
        steps: [],
        verdict: "allow",
        reason: "host to a local workload: host endpoint egress policy is skipped",
      };
    return this.#hostChain(src, view, pkt, "outbound", base);
  }

  #ingress(src: Endpoint, dst: Endpoint, pkt: TracePacket, warnings: string[]): DirectionTrace {
    const base = { direction: "ingress" as const, endpoint: publicEndpoint(dst) };
    if (dst.kind === "ip")
      return {
        ...base,
        policed: false,
        steps: [],
        verdict: "allow",
        reason: "not a Calico endpoint: no ingress policy",
      };
    const view = this.#view(dst.node!);
    if (dst.node !== src.node) this.#warnUnevaluated(dst.node!, view, warnings);
    if (dst.kind === "workload") {
      const ep = view.state.workloads.get(dst.stateKey!);
      if (!ep) throw new TraceInputError(`workload ${dst.name} is not active on node ${dst.node}`);
      const plan = planEndpointChain(ep.tiers, ep.profileIds, "inbound", catalogue(view.state));
      const walked = walkPlan(plan, pkt, view.state.ipSets, this.#source(view));
      return { ...base, policed: true, chain: endpointChain("inbound", ep.name), ...final(walked) };
    }
    if (src.kind === "workload" && src.node === dst.node) {
      // A workload reaching its own host meets DefaultEndpointToHostAction after its egress chain.
      const action = view.cfg.endpointToHostAction;
      const step: TraceStep = {
        kind: "endpoint",
        name: "DefaultEndpointToHostAction",
        outcome: action === "drop" ? "deny" : "allow",
        note: `workload to its own host: ${action}`,
      };
      if (action !== "return")
        return {
          ...base,
          policed: true,
          chain: "filter-cali-wl-to-host",
          steps: [step],
          verdict: step.outcome === "deny" ? "deny" : "allow",
          reason: `DefaultEndpointToHostAction is ${action}`,
        };
    }
    return this.#hostChain(dst, view, pkt, "inbound", base);
  }

  /** A host endpoint's filter chain for traffic from or to the host: failsafe ports, then the plan. */
  #hostChain(
    ep: Endpoint,
    view: HostView,
    pkt: TracePacket,
    dir: Direction,
    base: Pick<DirectionTrace, "direction" | "endpoint">,
  ): DirectionTrace {
    const hep = view.state.hostEndpoints.get(ep.stateKey!);
    if (!hep) throw new TraceInputError(`host endpoint ${ep.name} is not active on node ${ep.node}`);
    const iface = hep.name === "*" ? ALL_INTERFACES : hep.name || ep.iface || "";
    const chain = nftDialect.name("filter", dir === "inbound" ? "cali-fh-" : "cali-th-", iface || "<iface>");
    const failsafe = failsafeHit(
      pkt,
      dir === "inbound" ? view.cfg.failsafeInbound : view.cfg.failsafeOutbound,
      dir,
    );
    if (failsafe)
      return {
        ...base,
        policed: true,
        chain,
        steps: [{ kind: "failsafe", name: failsafe, outcome: "allow", note: "failsafe port: always open" }],
        verdict: "allow",
        reason: `failsafe port ${failsafe}`,
      };
    const plan = planEndpointChain(hep.tiers, hep.profileIds, dir, catalogue(view.state));
    return {
      ...base,
      policed: true,
      chain,
      ...final(walkPlan(plan, pkt, view.state.ipSets, this.#source(view))),
    };
  }

  /** Host endpoint policy the trace does not follow (it polices traffic the trace's chains do not see). */
  #warnUnevaluated(node: string, view: HostView, warnings: string[]): void {
    for (const [id, hep] of view.state.hostEndpoints) {
      const kinds = [
        hep.preDnatTiers.length > 0 ? "pre-DNAT" : "",
        hep.untrackedTiers.length > 0 ? "doNotTrack" : "",
        hep.forwardTiers.length > 0 ? "applyOnForward" : "",
      ].filter((k) => k);
      const text = `host endpoint ${id} on ${node} has ${kinds.join(", ")} policy, which this trace does not evaluate`;
      if (kinds.length > 0 && !warnings.includes(text)) warnings.push(text);
    }
  }
}

function sameHost(net: string, ip: string): boolean {
  const c = parseCIDR(net, { allowBareIP: true });
  const a = parseIP(ip);
  return (
    c !== undefined && a !== undefined && c.prefix === (a.family === 4 ? 32 : 128) && cidrContainsIP(c, a)
  );
}

function publicEndpoint(e: Endpoint): TraceEndpoint {
  const { ips: _ips, stateKey: _key, ...rest } = e;
  return rest;
}

function catalogue(state: DesiredPolicyState): ChainCatalogue {
  return {
    hasPolicy: (id) => state.policies.has(policyIdKey(id)),
    hasProfile: (name) => state.profiles.has(name),
  };
}

function final(w: ReturnType<typeof walkPlan>): Pick<DirectionTrace, "steps" | "verdict" | "reason"> {
  // Only normal chains are walked here, and they always decide.
  return { steps: w.steps, verdict: w.verdict === "allow" ? "allow" : "deny", reason: w.reason };
}

/** The drops at the head of a workload's egress chain, before any policy. */
function workloadEgressDrops(pkt: TracePacket, cfg: RenderConfig): TraceStep | undefined {
  if (!cfg.allowVxlanFromWorkloads && pkt.protocol === 17 && pkt.dstPort === 4789)
    return {
      kind: "endpoint",
      name: "VXLAN from workloads",
      outcome: "deny",
      note: "VXLAN packets from workloads are dropped",
    };
  if (!cfg.allowIpipFromWorkloads && pkt.protocol === 4)
    return {
      kind: "endpoint",
      name: "IP-in-IP from workloads",
      outcome: "deny",
      note: "IP-in-IP packets from workloads are dropped",
    };
  return undefined;
}

/** The failsafe entry that lets the packet through, as `proto:port`, if any. */
function failsafeHit(pkt: TracePacket, list: readonly FailsafePort[], dir: Direction): string | undefined {
  const PROTO: Record<FailsafePort["protocol"], number> = { tcp: 6, udp: 17, sctp: 132 };
  const peer = parseIP(dir === "inbound" ? pkt.src : pkt.dst);
  for (const p of list) {
    if (PROTO[p.protocol] !== pkt.protocol || p.port !== pkt.dstPort) continue;
    if (p.net) {
      const c = parseCIDR(p.net, { allowBareIP: true });
      if (!c || !peer || c.family !== peer.family || !cidrContainsIP(c, peer)) continue;
    }
    return `${p.protocol}:${p.port}`;
  }
  return undefined;
}
